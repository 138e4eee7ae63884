package node

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/natterchat/natter/store"
)

// BenchmarkUpgrade measures the WebSocket handshake on a raw connection:
// parsing the request with gobwas/ws's zero-copy upgrader, the origin and
// token checks and writing the 101 — not the session setup after it.
func BenchmarkUpgrade(b *testing.B) {
	tn := startNode(b, func(c *Config) { c.AllowGuests = true })
	tok := tn.register("alice").Token
	for _, tc := range []struct{ name, path string }{
		{"guest", "/ws"},
		{"token", "/ws?token=" + tok},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := []byte("GET " + tc.path + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			b.ReportAllocs()
			for b.Loop() {
				tn.upgradeOnce(b, req)
			}
		})
	}
	// A token the node has not verified before, of a user it has
	// seen: a device that moved here from a failed node. (A user new to
	// the node costs one storage read more, once.)
	const users = 1000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-user-%d", i)
		if err := tn.store.CreateUser(context.Background(), store.User{ID: ids[i], Name: ids[i]}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := tn.chat.Authenticate(context.Background(), signedToken(b, ids[i], time.Now().Add(time.Minute))); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("token-first", func(b *testing.B) {
		// Distinct tokens: each a second apart in expiry.
		base := time.Now().Add(time.Hour)
		reqs := make([][]byte, b.N)
		for i := range reqs {
			tok := signedToken(b, ids[i%users], base.Add(time.Duration(i)*time.Second))
			reqs[i] = []byte("GET /ws?token=" + tok + " HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tn.upgradeOnce(b, reqs[i])
		}
	})
}

// upgradeOnce upgrades req as upgradeRaw does, with an upgrade of the
// node's pool, its answer discarded.
func (tn *testNode) upgradeOnce(tb testing.TB, req []byte) {
	p := tn.upgrades.Get().(*upgrade)
	defer tn.putUpgrade(p)
	p.head.Reset(req)
	if _, err := p.u.Upgrade(readWriter{&p.head, io.Discard}); err != nil {
		tb.Fatal(err)
	}
}
