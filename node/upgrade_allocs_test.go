//go:build !race

package node

import "testing"

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

// TestGuestUpgradeAllocs guards a guest's upgrade into a room (the
// request parsed, the guest made, the 101 written): its upgrader is kept
// from one handshake to the next (Node.upgrades), and what is left is
// the query's values, the guest's identity and the answer, 8
// allocations. An upgrader made for each handshake added 6.
func TestGuestUpgradeAllocs(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	req := []byte("GET /ws?room=lobby HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	tn.upgradeOnce(t, req)
	if got := testing.AllocsPerRun(200, func() { tn.upgradeOnce(t, req) }); got > 8 {
		t.Fatalf("a guest's upgrade into a room: %v allocations, want at most 8", got)
	}
}
