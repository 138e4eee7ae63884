package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node"
	"github.com/natterchat/natter/store/storetest"
)

// startNode starts a real node (embedded NATS and JetStream in a temp
// dir, or natsURL's) on 127.0.0.1:0 and returns its WebSocket URL.
func startNode(t *testing.T, natsURL string) string {
	t.Helper()
	url, _ := startNodeWith(t, func(c *node.Config) { c.NATSURL = natsURL })
	return url
}

// startNodeWith starts a node changed by mod and returns its WebSocket
// URL and the node.
func startNodeWith(t *testing.T, mod func(*node.Config)) (string, *node.Node) {
	t.Helper()
	cfg := node.Config{
		DataDir: t.TempDir(), AllowGuests: true, Secret: "0123456789abcdef0123", APIKey: "k",
		RateLimit: 1000, RateBurst: 1000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		// The accounts runs register every user from 127.0.0.1.
		MaxRegistrationsPerSource: -1,
	}
	mod(&cfg)
	n, err := node.New(cfg)
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
	return "ws://" + l.Addr().String() + "/ws", n
}

// TestSmokeRooms runs the rooms scenario in process against a real node
// with a few hundred guest connections and checks the exact accounting.
func TestSmokeRooms(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	url := startNode(t, "")
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
	logTable(t, res)
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

// TestSmokeTwoNodes runs the rooms scenario over two nodes sharing one
// NATS: rooms span the nodes, the deliveries split into same-node and
// cross-node latency, and both nodes get their load readings.
func TestSmokeTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	ns := storetest.RunServer(t)
	urls := []string{startNode(t, ns.ClientURL()), startNode(t, ns.ClientURL())}
	res, err := Run(context.Background(), Config{
		Scenario: ScenarioRooms, URLs: urls, Guests: true, APIKey: "k",
		Conns: 100, RoomSize: 10, Rate: 5, Duration: 2 * time.Second, Grace: 10 * time.Second,
		Seed: 3, Workers: 1, ConnectRate: 2000,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	table := logTable(t, res)
	if !res.OK() {
		t.Fatalf("run failed: %v", res.Problems)
	}
	same, cross := res.DeliverSameNode, res.DeliverCrossNode
	if same == nil || cross == nil || same.Count == 0 || cross.Count == 0 || same.Count+cross.Count != res.Delivery.Delivered {
		t.Fatalf("same node %+v, cross node %+v, delivered %d", same, cross, res.Delivery.Delivered)
	}
	if len(res.Nodes) != 2 {
		t.Fatalf("%d node reports", len(res.Nodes))
	}
	for _, n := range res.Nodes {
		if n.SendRSSKiB == 0 || n.PeakRSSKiB < n.SendRSSKiB {
			t.Fatalf("node %s: send RSS %d KiB, peak %d KiB (%s)", n.URL, n.SendRSSKiB, n.PeakRSSKiB, n.Note)
		}
	}
	// The nodes are this process, which connected 100 WebSockets and
	// joined their rooms: well over one clock tick of CPU.
	if res.Connect.NodeCPUPerConn <= 0 || !bytes.Contains(table.Bytes(), []byte("node CPU")) {
		t.Fatalf("connect phase: node CPU %.0f µs per connection", res.Connect.NodeCPUPerConn)
	}
	if !bytes.Contains(table.Bytes(), []byte("cross node")) {
		t.Fatal("the table does not show the cross-node latency")
	}
}

// logTable writes res's table to the test log and returns it.
func logTable(t *testing.T, res *Result) *bytes.Buffer {
	t.Helper()
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	return &table
}

// TestSmokeReconnect: registered users in rooms; a third into the send
// phase every connection but the senders' drops and comes back with
// resume: nothing lost or doubled, every one re-admitted, and the
// senders' deliveries meanwhile counted, in one worker and in two worker
// processes (where the senders have one of their own).
func TestSmokeReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { smokeReconnect(t, workers) })
	}
}

func smokeReconnect(t *testing.T, workers int) {
	url := startNode(t, "")
	res, err := Run(context.Background(), Config{
		Scenario: ScenarioReconnect, URLs: []string{url}, APIKey: "k",
		Conns: 40, RoomSize: 10, Rate: 10, Duration: 3 * time.Second, Grace: 10 * time.Second,
		Seed: 5, Workers: workers, ConnectRate: 2000, QuietChats: 2,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	table := logTable(t, res)
	if !res.OK() {
		t.Fatalf("run failed: %v", res.Problems)
	}
	rc := res.Reconnect
	if rc == nil || rc.Attempted != 36 || rc.Done != rc.Attempted || rc.Handshake.Count != int64(rc.Done) {
		t.Fatalf("reconnect %+v, want 36 (40 minus 4 senders) re-admitted", rc)
	}
	if rc.Live.Count == 0 {
		t.Fatalf("no live deliveries counted during the storm: %+v", rc.Live)
	}
	d := res.Delivery
	if d.Lost != 0 || d.Duplicates != 0 || d.OutOfOrder != 0 || d.Expected != d.Delivered {
		t.Fatalf("delivery through the storm %+v", *d)
	}
	if !bytes.Contains(table.Bytes(), []byte("re-admitted")) {
		t.Fatal("the table does not show the storm")
	}
}

// TestSmokeStatsOnAdminPort: a node that serves /api/stats on its admin
// port is read there with StatsURLs, so the run reports its connections.
func TestSmokeStatsOnAdminPort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	url, n := startNodeWith(t, func(c *node.Config) { c.AdminListen = "127.0.0.1:0" })
	res, err := Run(context.Background(), Config{
		Scenario: ScenarioRooms, URLs: []string{url}, Guests: true, APIKey: "k",
		StatsURLs: []string{"http://" + n.AdminAddr().String()},
		Conns:     20, RoomSize: 10, Rate: 5, Duration: time.Second, Grace: 10 * time.Second,
		Seed: 3, Workers: 1, ConnectRate: 2000,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.OK() || len(res.Nodes) != 1 {
		t.Fatalf("run failed: %v, nodes %+v", res.Problems, res.Nodes)
	}
	if nr := res.Nodes[0]; nr.Connections != 20 || nr.Goroutines == nil {
		t.Fatalf("node report %+v; want its 20 connections and goroutines from the admin port", nr)
	}
	if _, err := Run(context.Background(), Config{Scenario: ScenarioRooms, URLs: []string{url}, StatsURLs: []string{"a", "b"}}); !errors.Is(err, ErrConfig) {
		t.Fatalf("two stats URLs for one node: %v, want ErrConfig", err)
	}
}
