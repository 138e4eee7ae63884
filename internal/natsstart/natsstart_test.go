package natsstart_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natterchat/natter/internal/natsstart"
)

// start starts a server with a natsstart.Logger after mod adjusts its
// options, and shuts it down when the test ends.
func start(t *testing.T, mod func(*server.Options)) (*server.Server, *natsstart.Logger) {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, JetStream: true, StoreDir: t.TempDir()}
	mod(opts)
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	l := natsstart.NewLogger(slog.New(slog.DiscardHandler))
	ns.SetLoggerV2(l, false, false, false)
	go ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns, l
}

// TestWaitReady: a server that starts is ready.
func TestWaitReady(t *testing.T) {
	ns, l := start(t, func(*server.Options) {})
	if err := natsstart.Wait(ns, l, 30*time.Second); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

// TestWaitFatal: a server whose route port is taken never becomes ready;
// Wait says so with the server's reason instead of waiting out its
// timeout (which would end in another error, long after the test's own).
func TestWaitFatal(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	ns, l := start(t, func(o *server.Options) {
		o.JetStream = false
		o.Cluster = server.ClusterOpts{Name: "c", Host: "127.0.0.1", Port: port}
	})
	err = natsstart.Wait(ns, l, time.Hour)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Wait = %v, want the route listener's bind error", err)
	}
}

// TestWaitTimeout: a server that is never started is not ready within
// the time given.
func TestWaitTimeout(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoSigs: true})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	l := natsstart.NewLogger(slog.New(slog.DiscardHandler))
	if err := natsstart.Wait(ns, l, 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "not ready within 100ms") {
		t.Fatalf("Wait = %v, want not ready within 100ms", err)
	}
}
