package wsconn

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// eventSink records what a parser completes, as strings.
type eventSink struct{ ev []string }

func (s *eventSink) onText(msg []byte) bool {
	s.ev = append(s.ev, "text:"+string(msg))
	return true
}

func (s *eventSink) onControl(op ws.OpCode, p []byte) bool {
	s.ev = append(s.ev, fmt.Sprintf("op%d:%q", op, p))
	return true
}

const testMaxMsg = 1024

// parseCases is the table of inbound byte streams shared by the parser
// tests, the split tests, the fuzz seeds and BenchmarkParse.
var parseCases = []struct {
	name string
	in   []byte
	ev   []string
	err  error
}{
	{"text", text("hello"), []string{"text:hello"}, nil},
	{"empty text", text(""), []string{"text:"}, nil},
	{"utf8", text("héllo, 世界 🌍"), []string{"text:héllo, 世界 🌍"}, nil},
	{"126 bytes", text(strings.Repeat("a", 126)), []string{"text:" + strings.Repeat("a", 126)}, nil},
	{"1000 bytes", text(strings.Repeat("b", 1000)), []string{"text:" + strings.Repeat("b", 1000)}, nil},
	{"many", cat(text("a"), text("bc"), text("def")), []string{"text:a", "text:bc", "text:def"}, nil},
	{"fragmented with ping", cat(
		frameBytes(opTxt, []byte("hel"), false),
		frameBytes(fin|opPng, []byte("p"), false),
		frameBytes(opCon, []byte("l"), false),
		frameBytes(opCon, nil, false),
		frameBytes(fin|opCon, []byte("o"), false),
		text("next"),
	), []string{`op9:"p"`, "text:hello", "text:next"}, nil},
	{"rune split across fragments", cat(
		frameBytes(opTxt, []byte("\xe4\xb8"), false),
		frameBytes(fin|opCon, []byte("\x96"), false),
	), []string{"text:世"}, nil},
	{"ping pong", cat(frameBytes(fin|opPng, []byte("abc"), false), frameBytes(fin|opPog, []byte("x"), false)),
		[]string{`op9:"abc"`, `op10:"x"`}, nil},
	{"close", cat(frameBytes(fin|opCls, closeBody(1000, "bye"), false), text("ignored")),
		[]string{`op8:"\x03\xe8bye"`}, nil},
	{"close empty", frameBytes(fin|opCls, nil, false), []string{`op8:""`}, nil},
	{"unmasked", frameBytes(fin|opTxt, []byte("x"), true), nil, errUnmasked},
	{"binary", frameBytes(fin|opBin, []byte("x"), false), nil, errBinary},
	{"invalid utf8", text("a\xffb"), nil, errUTF8},
	{"invalid utf8 fragmented", cat(frameBytes(opTxt, []byte("a"), false), frameBytes(fin|opCon, []byte("\xc3"), false)), nil, errUTF8},
	{"too big header", headerBytes(fin|opTxt, testMaxMsg+1, false), nil, errTooBig},
	{"too big fragments", cat(frameBytes(opTxt, make([]byte, testMaxMsg), false), headerBytes(fin|opCon, 1, false)), nil, errTooBig},
	{"huge length", headerBytes(fin|opTxt, 1<<63, false), nil, errLength},
	{"control too long", headerBytes(fin|opPng, 126, false), nil, errControlLen},
	{"control fragmented", frameBytes(opPng, nil, false), nil, errControlFrag},
	{"rsv1", frameBytes(fin|rsv1|opTxt, []byte("x"), false), nil, errRsv},
	{"reserved opcode", frameBytes(fin|3, nil, false), nil, errOpcode},
	{"continuation first", frameBytes(fin|opCon, []byte("x"), false), nil, errContinuation},
	{"text inside fragmented", cat(frameBytes(opTxt, []byte("x"), false), text("y")), nil, errInterleaved},
	{"close 1 byte", frameBytes(fin|opCls, []byte{3}, false), nil, errCloseLen},
	{"close code 1005", frameBytes(fin|opCls, closeBody(1005, ""), false), nil, errCloseCode},
	{"close code 999", frameBytes(fin|opCls, closeBody(999, ""), false), nil, errCloseCode},
	{"close reason utf8", frameBytes(fin|opCls, closeBody(1000, "\xff"), false), nil, errCloseUTF8},
	{"message then error", cat(text("ok"), frameBytes(fin|opBin, nil, false), text("never")), []string{"text:ok"}, errBinary},
}

// parseAll feeds the chunks to a fresh parser and returns events and error.
func parseAll(chunks ...[]byte) ([]string, *parser, error) {
	var p parser
	var s eventSink
	var firstErr error
	for _, c := range chunks {
		_, err := p.feed(bytes.Clone(c), testMaxMsg, &s)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return s.ev, &p, firstErr
}

func TestParser(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, p, err := parseAll(tc.in)
			if !slices.Equal(ev, tc.ev) || err != tc.err {
				t.Fatalf("got %q, %v; want %q, %v", ev, err, tc.ev, tc.err)
			}
			if err == nil && p.pend != nil {
				t.Fatal("complete input left a pending buffer")
			}
		})
	}
}

// TestParserSplitEveryOffset feeds each case in two pieces at every offset,
// and byte by byte: results must match the whole input.
func TestParserSplitEveryOffset(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i <= len(tc.in); i++ {
				ev, _, err := parseAll(tc.in[:i], tc.in[i:])
				if !slices.Equal(ev, tc.ev) || err != tc.err {
					t.Fatalf("split at %d: got %q, %v; want %q, %v", i, ev, err, tc.ev, tc.err)
				}
			}
			var chunks [][]byte
			for i := range tc.in {
				chunks = append(chunks, tc.in[i:i+1])
			}
			ev, _, err := parseAll(chunks...)
			if !slices.Equal(ev, tc.ev) || err != tc.err {
				t.Fatalf("byte by byte: got %q, %v; want %q, %v", ev, err, tc.ev, tc.err)
			}
		})
	}
}

// TestParserReleasesBuffers checks a partial frame borrows a buffer that is
// returned when the frame completes.
func TestParserReleasesBuffers(t *testing.T) {
	in := text("hello world")
	var p parser
	var s eventSink
	p.feed(bytes.Clone(in[:5]), testMaxMsg, &s)
	if p.pend == nil || !p.pending() {
		t.Fatal("no pending buffer for a partial frame")
	}
	p.feed(bytes.Clone(in[5:]), testMaxMsg, &s)
	if p.pend != nil || p.msg != nil || p.pending() {
		t.Fatal("buffers kept after the frame completed")
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in, uint16(len(tc.in)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		k := int(split) % (len(in) + 1)
		ev1, _, err1 := parseAll(in)
		ev2, _, err2 := parseAll(in[:k], in[k:])
		if !slices.Equal(ev1, ev2) || err1 != err2 {
			t.Fatalf("split at %d: %q, %v; whole: %q, %v", k, ev2, err2, ev1, err1)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"text", "126 bytes", "1000 bytes", "many", "fragmented with ping"} {
		i := slices.IndexFunc(parseCases, func(c struct {
			name string
			in   []byte
			ev   []string
			err  error
		}) bool {
			return c.name == name
		})
		in := parseCases[i].in
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, len(in))
			var s nopSink
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, in) // the parser unmasks in place
				var p parser
				if _, err := p.feed(buf, testMaxMsg, s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type nopSink struct{}

func (nopSink) onText([]byte) bool               { return true }
func (nopSink) onControl(ws.OpCode, []byte) bool { return true }
