package bench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node"
)

// startNode starts a real node (embedded NATS and JetStream in a temp
// dir) on 127.0.0.1:0 and returns its WebSocket URL.
func startNode(t *testing.T) string {
	t.Helper()
	n, err := node.New(node.Config{
		DataDir: t.TempDir(), AllowGuests: true, Secret: "0123456789abcdef0123", APIKey: "k",
		RateLimit: 1000, RateBurst: 1000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("node.New: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- n.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return "ws://" + l.Addr().String() + "/ws"
}

// TestSmokeRooms runs the rooms scenario in process against a real node
// with a few hundred guest connections and checks the exact accounting.
func TestSmokeRooms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	url := startNode(t)
	var progress bytes.Buffer
	res, err := Run(context.Background(), Config{
		Scenario: ScenarioRooms, URLs: []string{url}, Guests: true, APIKey: "k",
		Conns: 300, RoomSize: 10, Rate: 10, Duration: 2 * time.Second, Grace: 10 * time.Second,
		Seed: 7, Workers: 1, ConnectRate: 2000,
		Progress: func(s string) { progress.WriteString(s + "\n") },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	d := res.Delivery
	if !res.OK() || d == nil {
		t.Fatalf("run failed: %v", res.Problems)
	}
	if d.Lost != 0 || d.Duplicates != 0 || d.OutOfOrder != 0 || d.Delivered == 0 {
		t.Fatalf("delivery %+v", *d)
	}
	if d.Expected != d.Delivered || d.Delivered != d.Acked*10 {
		t.Fatalf("delivered %d, expected %d, acked %d x room size 10", d.Delivered, d.Expected, d.Acked)
	}
	if res.DeliverLatency.Count != d.Delivered {
		t.Fatalf("latency count %d != delivered %d", res.DeliverLatency.Count, d.Delivered)
	}
	if res.Connect.Connected != 300 {
		t.Fatalf("connected %d", res.Connect.Connected)
	}
	var page bytes.Buffer
	if err := res.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(page.Bytes(), []byte("<script src")) || !bytes.Contains(page.Bytes(), []byte("<svg")) {
		t.Fatal("html page is not self-contained SVG")
	}
}
