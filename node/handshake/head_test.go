package handshake

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

const validKey = "dGhlIHNhbXBsZSBub25jZQ=="

func request(extra string) string {
	return "GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + validKey + "\r\nSec-WebSocket-Version: 13\r\n" + extra + "\r\n"
}

// headCases are the heads of the table: what ReadHead returns or the error
// it fails with. The tests and the fuzz seeds share it.
var headCases = []struct {
	name string
	in   string
	err  error
}{
	{"valid", request(""), nil},
	{"bare LF lines", strings.ReplaceAll(request(""), "\r\n", "\n"), nil},
	{"long header within the limits", request("Cookie: " + strings.Repeat("c", MaxLine-20) + "\r\n"), nil},
	{"request line too long", "GET /ws?" + strings.Repeat("q", MaxLine) + " HTTP/1.1\r\n\r\n", ErrURITooLong},
	{"header line too long", request("X-Big: " + strings.Repeat("b", MaxLine) + "\r\n"), ErrLineTooLong},
	{"too many lines", request(strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 40)), ErrHeadTooLarge},
	{"key not base64", strings.Replace(request(""), validKey, "not+base64+but+24+chars!", 1), ErrBadKey},
	{"key of 15 bytes", strings.Replace(request(""), validKey, "dGhlIHNhbXBsZSBub25j", 1), ErrBadKey},
	{"key of 17 bytes in 24 chars", strings.Replace(request(""), validKey, "dGhlIHNhbXBsZSBub25jZQ==x", 1), ErrBadKey},
	{"key case-insensitive name", strings.Replace(request(""), "Sec-WebSocket-Key: "+validKey, "sec-websocket-KEY: short", 1), ErrBadKey},
	{"no blank line", "GET /ws HTTP/1.1\r\nHost: x\r\n", io.EOF},
}

// TestReadHead reads every case whole and one byte at a time; early bytes
// after the head stay in the reader.
func TestReadHead(t *testing.T) {
	const early = "\x81\x85early"
	for _, c := range headCases {
		for _, split := range []bool{false, true} {
			var r io.Reader = strings.NewReader(c.in + early)
			if split {
				r = iotest.OneByteReader(r)
			}
			br := bufio.NewReaderSize(r, 4096)
			head, err := ReadHead(br)
			if !errors.Is(err, c.err) && !(c.err == io.EOF && errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("%s (split %v): err %v, want %v", c.name, split, err, c.err)
			}
			if c.err != nil {
				continue
			}
			if string(head) != c.in {
				t.Fatalf("%s: head %q, want %q", c.name, head, c.in)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != early {
				t.Fatalf("%s (split %v): after the head %q, want the early bytes", c.name, split, rest)
			}
		}
	}
}

// TestReadHeadAllocs: a head that came whole is read in one allocation,
// whatever its number of lines (a connection storm reads one per
// connection).
func TestReadHeadAllocs(t *testing.T) {
	in := request("Origin: http://example.com\r\nUser-Agent: test\r\n")
	r := strings.NewReader(in)
	br := bufio.NewReaderSize(r, 4096)
	allocs := testing.AllocsPerRun(100, func() {
		r.Reset(in)
		br.Reset(r)
		_, _ = br.Peek(1) // as the node does to route the connection
		if _, err := ReadHead(br); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Fatalf("ReadHead made %.0f allocations, want 1", allocs)
	}
}

// TestReadHeadStopsEarly: a head over the limit fails after reading
// about the limit, not the whole input.
func TestReadHeadStopsEarly(t *testing.T) {
	huge := &countingReader{r: strings.NewReader("GET /ws HTTP/1.1\r\nX-Huge: " + strings.Repeat("h", 64<<20) + "\r\n\r\n")}
	if _, err := ReadHead(bufio.NewReader(huge)); !errors.Is(err, ErrLineTooLong) {
		t.Fatalf("err %v, want ErrLineTooLong", err)
	}
	if huge.n > MaxHead+4096 {
		t.Fatalf("read %d bytes of a 64 MiB line before failing", huge.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadHead: any input, whole or split in two, either fails or gives
// a head within the limits that the input starts with, and both splits
// agree.
func FuzzReadHead(f *testing.F) {
	for _, c := range headCases {
		f.Add(c.in, len(c.in)/2)
	}
	f.Fuzz(func(t *testing.T, in string, cut int) {
		whole, errWhole := ReadHead(bufio.NewReader(strings.NewReader(in)))
		cut = min(max(cut, 0), len(in))
		r := io.MultiReader(iotest.OneByteReader(strings.NewReader(in[:cut])), strings.NewReader(in[cut:]))
		split, errSplit := ReadHead(bufio.NewReader(r))
		if (errWhole == nil) != (errSplit == nil) || !bytes.Equal(whole, split) {
			t.Fatalf("whole: %q %v; split at %d: %q %v", whole, errWhole, cut, split, errSplit)
		}
		if errWhole == nil && (len(whole) > MaxHead || !strings.HasPrefix(in, string(whole))) {
			t.Fatalf("head %q of %q", whole, in)
		}
	})
}

// TestAdmission: in all, and per source once a quarter of the total is
// in use; released slots come back.
func TestAdmission(t *testing.T) {
	a := NewAdmission(2, 12) // per source from 3 pending on
	one := &net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 1}
	two := &net.TCPAddr{IP: net.ParseIP("127.0.0.3"), Port: 2}
	r1, ok1 := a.Admit(one)
	_, ok2 := a.Admit(&net.TCPAddr{IP: net.ParseIP("127.0.0.2"), Port: 3})
	_, ok3 := a.Admit(one) // past its cap, but no pressure yet
	_, ok4 := a.Admit(one) // past its cap under pressure
	if !ok1 || !ok2 || !ok3 || ok4 {
		t.Fatalf("per source: %v %v %v %v, want true true true false", ok1, ok2, ok3, ok4)
	}
	for i := range 9 {
		if _, ok := a.Admit(two); !ok && i < 2 {
			t.Fatalf("another source's connection %d refused", i)
		} else if ok != (i < 2) {
			t.Fatalf("another source's connection %d admitted %v under pressure past its cap", i, ok)
		}
	}
	b := NewAdmission(2, 3)
	for i := range 4 {
		if _, ok := b.Admit(&net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i)), Port: 1}); ok != (i < 3) {
			t.Fatalf("in all: connection %d admitted %v", i, ok)
		}
	}
	r1()
	r1() // releasing twice counts once
	if n := a.Pending(); n != 4 {
		t.Fatalf("after a release: pending %d, want 4", n)
	}
	if _, ok := a.Admit(one); ok {
		t.Fatal("a source at its cap under pressure admitted after one release")
	}
	if _, ok := a.Admit(&net.TCPAddr{IP: net.ParseIP("127.0.0.4"), Port: 1}); !ok || a.Pending() != 5 {
		t.Fatalf("a new source under pressure: %v, pending %d", ok, a.Pending())
	}
}
