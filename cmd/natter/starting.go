package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"time"
)

// startingResponse answers every request while the node starts: a load
// balancer or probe gets a quick 503 instead of a connection that hangs
// until JetStream is ready (up to minutes in a fresh cluster).
const startingResponse = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nstarting\n"

// answerStarting serves startingResponse on l, over TLS when tc is not
// nil, until the returned stop function is called; l stays open for the
// node to take over.
func answerStarting(l net.Listener, tc *tls.Config) (stop func()) {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return func() {}
	}
	var (
		mu      sync.Mutex
		stopped bool
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := tl.Accept()
			if err != nil {
				mu.Lock()
				s := stopped
				mu.Unlock()
				var ne net.Error
				if s || !(errors.As(err, &ne) && ne.Timeout()) {
					return
				}
				continue
			}
			_ = c.SetDeadline(time.Now().Add(time.Second))
			if tc != nil {
				c = tls.Server(c, tc) // handshakes on the first read, within the deadline
			}
			// Read the request head first: a response that arrives before
			// the request confuses HTTP clients.
			buf := make([]byte, 4096)
			for got := 0; got < len(buf); {
				n, err := c.Read(buf[got:])
				got += n
				if err != nil || bytes.Contains(buf[:got], []byte("\r\n\r\n")) {
					break
				}
			}
			_, _ = c.Write([]byte(startingResponse))
			c.Close()
		}
	}()
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		_ = tl.SetDeadline(time.Now()) // wakes Accept
		<-done
		_ = tl.SetDeadline(time.Time{})
	}
}
