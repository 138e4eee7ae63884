//go:build linux

package wsconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// acceptUpgraded accepts one connection from fl, reads its request head
// with the FDConn's non-blocking reads (the head may arrive in parts),
// upgrades it and attaches it with cfg; the head was written by the
// client already.
func acceptUpgraded(t *testing.T, fl *FDListener, srv *Server) *Conn {
	t.Helper()
	fc, err := fl.AcceptFD()
	if err != nil {
		t.Fatal(err)
	}
	var head []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Contains(head, []byte("\r\n\r\n")) {
		n, err := fc.Read(buf)
		switch {
		case errors.Is(err, ErrAgain):
			if time.Now().After(deadline) {
				t.Fatal("no request head within 10s")
			}
			time.Sleep(time.Millisecond)
		case err != nil:
			t.Fatal(err)
		}
		head = append(head, buf[:n]...)
	}
	var resp bytes.Buffer
	if _, err := ws.Upgrade(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(head), &resp}); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Write(resp.Bytes()); err != nil {
		t.Fatal(err)
	}
	c := new(Conn)
	if err := srv.AttachConn(c, fc, nil); err != nil {
		fc.Close()
		t.Fatal(err)
	}
	return c
}

// newFDListener listens on a free loopback port, closed with the test.
func newFDListener(t *testing.T) *FDListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl, ok := NewFDListener(ln)
	if !ok {
		ln.Close()
		t.Fatal("NewFDListener refused a TCP listener")
	}
	t.Cleanup(func() { fl.Close() })
	return fl
}

// dialFD connects a plain TCP client to fl, closed with the test.
func dialFD(t *testing.T, fl *FDListener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestFDListener: a connection accepted as an FDConn reads without
// waiting (ErrAgain on an empty socket), has the client's address, and
// is served by either transport once attached (the goroutine transport
// hands its socket to the runtime); Close ends a waiting AcceptFD.
func TestFDListener(t *testing.T) {
	for _, goroutine := range []bool{false, true} {
		name := map[bool]string{false: "poller", true: "goroutine"}[goroutine]
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.forceGoroutine = goroutine
			rec := newRecorder()
			rec.echo = true
			srv, err := New(cfg, rec)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			fl := newFDListener(t)

			ts := &testServer{srv: srv, rec: rec, addr: fl.Addr().String()}
			type dialed struct {
				nc  net.Conn
				err error
			}
			ch := make(chan dialed, 1)
			go func() {
				nc, _, err := ts.dialWS()
				ch <- dialed{nc, err}
			}()
			c := acceptUpgraded(t, fl, srv)
			d := <-ch
			if d.err != nil {
				t.Fatal(d.err)
			}
			defer d.nc.Close()
			if got, want := c.RemoteAddr().String(), d.nc.LocalAddr().String(); got != want {
				t.Fatalf("RemoteAddr %s, want the client's %s", got, want)
			}
			cl := &client{Conn: d.nc, r: newBufReader(d.nc), sc: c}
			cl.send(t, text("over an accepted descriptor"))
			if got := rec.nextMessage(t, c); got != "over an accepted descriptor" {
				t.Fatalf("server got %q", got)
			}
			if got := cl.readText(t); got != "over an accepted descriptor" {
				t.Fatalf("client got %q", got)
			}

			done := make(chan error, 1)
			go func() {
				_, err := fl.AcceptFD()
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			fl.Close()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("AcceptFD after Close: no error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("AcceptFD still waits 5s after Close")
			}
		})
	}
}

// TestFDConnRead: an FDConn's Read says ErrAgain while the socket is
// empty, returns what arrived, then io.EOF; after Close, net.ErrClosed.
func TestFDConnRead(t *testing.T) {
	fl := newFDListener(t)
	cl := dialFD(t, fl)
	// The accept waits for the client's first bytes (deferAccept).
	if _, err := cl.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	fc, err := fl.AcceptFD()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := fc.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read of the first byte: %d, %v; want it at the accept", n, err)
	}
	if _, err := fc.Read(buf); !errors.Is(err, ErrAgain) {
		t.Fatalf("Read of an empty socket: %v, want ErrAgain", err)
	}
	if _, err := cl.Write([]byte("bc")); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	got := []byte("a")
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := fc.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, ErrAgain) {
			t.Fatalf("Read: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no EOF within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	if string(got) != "abc" {
		t.Fatalf("read %q, want abc", got)
	}
	fc.Close()
	if _, err := fc.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
	}
}

// TestFDListenerDefersAccept: a connection is accepted once its first
// bytes have come, so a client that wrote is accepted before one that
// connected earlier and is silent, and finds its bytes at the accept; the
// silent one is accepted all the same, a little later.
func TestFDListenerDefersAccept(t *testing.T) {
	fl := newFDListener(t)
	silent, talker := dialFD(t, fl), dialFD(t, fl)
	if _, err := talker.Write([]byte("GET /ws HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	fc, err := fl.AcceptFD()
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	if got, want := fc.RemoteAddr().String(), talker.LocalAddr().String(); got != want {
		t.Fatalf("accepted %s first, want the client that wrote, %s (the silent one is %s)", got, want, silent.LocalAddr())
	}
	buf := make([]byte, 64)
	if n, err := fc.Read(buf); err != nil || !bytes.HasSuffix(buf[:n], []byte("\r\n\r\n")) {
		t.Fatalf("read at the accept: %q, %v; want the whole head", buf[:n], err)
	}
	done := make(chan *FDConn, 1)
	go func() {
		fc, err := fl.AcceptFD()
		if err != nil {
			t.Error(err)
		}
		done <- fc
	}()
	select {
	case fc := <-done:
		if fc == nil {
			return
		}
		defer fc.Close()
		if got, want := fc.RemoteAddr().String(), silent.LocalAddr().String(); got != want {
			t.Fatalf("accepted %s, want the silent client %s", got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the silent client was not accepted within 20s")
	}
}
