package node

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// dialIdle opens a WebSocket that the test never reads again: no client
// goroutine, so the process's goroutine count shows the server's cost.
func dialIdle(t testing.TB, addr, path string) net.Conn {
	t.Helper()
	conn, _, _, err := ws.Dialer{Timeout: 10 * time.Second}.Dial(context.Background(), "ws://"+addr+path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return conn
}

// TestIdleConnectionsOwnNoGoroutine: 2,000 idle connections (each in a
// room) do not add 2,000 goroutines; the count stays within a small
// constant of the baseline.
func TestIdleConnectionsOwnNoGoroutine(t *testing.T) {
	const conns = 2000
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	warm := dialIdle(t, tn.addr, "/ws?room=idle")
	defer warm.Close()
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()

	all := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range all {
			c.Close()
		}
	}()
	for i := range conns {
		path := "/ws"
		if i%10 == 0 {
			path = fmt.Sprintf("/ws?room=idle-%d", i%50)
		}
		all = append(all, dialIdle(t, tn.addr, path))
	}
	checkFor(t, 20*time.Second, func() error {
		if got := tn.conns.Len(); got < conns+1 {
			return fmt.Errorf("%d connections attached", got)
		}
		// Handshake goroutines and frame runners end once setup is done.
		if d := runtime.NumGoroutine() - base; d > 50 {
			return fmt.Errorf("%d goroutines above the baseline of %d with %d idle connections", d, base, conns)
		}
		return nil
	})
	t.Logf("goroutines: baseline %d, with %d idle connections %d", base, conns, runtime.NumGoroutine())
}

// TestShutdownLeavesNoGoroutine: after Shutdown every goroutine the node
// started (poller, workers, loops, embedded NATS) has ended.
func TestShutdownLeavesNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	a := tn.dial("/ws?room=x")
	a.expect("MemberList")
	tn.stop()
	a.Conn.Close()
	checkFor(t, 10*time.Second, func() error {
		if d := runtime.NumGoroutine() - before; d > 2 {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("%d goroutines left after Shutdown:\n%s", d, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}
