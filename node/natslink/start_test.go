package natslink

import (
	"log/slog"
	"testing"
)

// TestStart: the embedded server starts with JetStream in StoreDir and
// its monitoring port bound, and ends on Shutdown.
func TestStart(t *testing.T) {
	o := Options{ServerName: "natter-test", StoreDir: t.TempDir(), NATSMonitor: "127.0.0.1:0"}
	ns, err := Start(o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(ns)
	if !ns.JetStreamEnabled() || ns.MonitorAddr() == nil || ns.Name() != "natter-test" {
		t.Fatalf("JetStream %v, monitoring %v, name %q", ns.JetStreamEnabled(), ns.MonitorAddr(), ns.Name())
	}
}
