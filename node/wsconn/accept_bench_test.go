package wsconn

import (
	"bufio"
	"io"
	"net"
	"testing"
)

// BenchmarkAcceptAttach measures a connection's way from its accept to
// the poller, its 101 written and the connection closed: through
// net.Listener (the runtime's poller registers the socket, Attach
// duplicates and deregisters it) and through FDListener (accept4 into
// the poller at once). The client's dial and reads are in both.
func BenchmarkAcceptAttach(b *testing.B) {
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	hello := NewTextFrame([]byte("hello"))
	for _, path := range []string{"net", "fd"} {
		b.Run(path, func(b *testing.B) {
			srv, ln := benchServer(b)
			var l net.Listener = ln
			if path == "fd" {
				fl, ok := NewFDListener(ln)
				if !ok {
					b.Skip("no FDListener on this system")
				}
				l = fl
			}
			defer l.Close()
			errs := make(chan error, 1)
			go func() {
				for {
					nc, err := l.Accept()
					if err != nil {
						errs <- nil
						return
					}
					c := new(Conn)
					if err := srv.AttachConnBuffered(c, nc, nil, resp, nil); err != nil {
						nc.Close()
						errs <- err
						return
					}
					_ = c.Send(hello) // the 101 leaves with it, as a node's with its first frames
				}
			}()
			buf := make([]byte, len(resp)+hello.Len())
			b.ReportAllocs()
			for b.Loop() {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(bufio.NewReader(c), buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			l.Close()
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		})
	}
}
