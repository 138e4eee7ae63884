package node

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// BenchmarkUpgrade measures the WebSocket handshake on a raw connection:
// parsing the request with gobwas/ws's zero-copy upgrader, the origin and
// token checks and writing the 101 — not the session setup after it.
func BenchmarkUpgrade(b *testing.B) {
	tn := startNode(b, func(c *Config) { c.AllowGuests = true })
	tok, err := tn.tokens.Issue("u1", "alice")
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, path string }{
		{"guest", "/ws"},
		{"token", "/ws?token=" + tok},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := []byte("GET " + tc.path + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			r := bytes.NewReader(req)
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(req)
				var h upgradeRequest
				u := tn.upgrader(&h)
				if _, err := u.Upgrade(readWriter{r, io.Discard}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// A token the node has not verified before: a device that moved here
	// from a failed node.
	b.Run("token-first", func(b *testing.B) {
		reqs := make([][]byte, b.N)
		for i := range reqs {
			tok, err := tn.tokens.Issue(fmt.Sprintf("user-%d", i), "alice")
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = []byte("GET /ws?token=" + tok + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		}
		r := bytes.NewReader(nil)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.Reset(reqs[i])
			var h upgradeRequest
			u := tn.upgrader(&h)
			if _, err := u.Upgrade(readWriter{r, io.Discard}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
