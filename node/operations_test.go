package node

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
)

// scrape returns the value of one sample line of /metrics ("name" or
// `name{label="x"}`), -1 if absent.
func (tn *testNode) scrape(sample string) float64 {
	tn.t.Helper()
	resp, err := http.Get(tn.url("/metrics"))
	if err != nil {
		tn.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` ([0-9.e+-]+)$`)
	m := re.FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestMetricsMoveWithTraffic scrapes /metrics and checks that the
// families exist and their values move as traffic flows.
func TestMetricsMoveWithTraffic(t *testing.T) {
	tn := startNode(t, nil)
	for _, family := range []string{"natter_connections", "natter_messages_accepted_total", "natter_messages_delivered_total",
		"natter_outbound_queue_bytes", "natter_nats_connected", "natter_chat_subscriptions", "natter_frames_in_total",
		"natter_frames_out_total", `natter_handshakes_total{result="ok"}`, `natter_closes_total{reason="slow_consumer"}`,
		"natter_slow_consumer_closes_total", "natter_gap_messages_repaired_total", "natter_nats_reconnects_total",
		"natter_jetstream_publish_errors_total", "natter_publish_ack_seconds_count", "natter_publish_deliver_seconds_count",
		"go_goroutines", "process_resident_memory_bytes"} {
		if tn.scrape(family) < 0 {
			t.Errorf("/metrics has no %s", family)
		}
	}
	if v := tn.scrape("natter_nats_connected"); v != 1 {
		t.Errorf("natter_nats_connected = %v", v)
	}
	alice, bob := tn.register("alice"), tn.register("bob")
	a, b := tn.dialUser(alice), tn.dialUser(bob)
	chat := a.joinRoom("metrics")
	b.joinRoom("metrics")
	a.expect(wire.TypeJoinedRoom) // alice hears bob join
	for i := range 5 {
		a.sendMsg(chat, fmt.Sprintf("m%d", i), "", true)
	}
	b.waitFor(wire.TypeNewMessage)
	checkFor(t, 5*time.Second, func() error {
		for sample, want := range map[string]float64{
			"natter_connections":                   2,
			"natter_messages_accepted_total":       5,
			"natter_messages_delivered_total":      10,
			"natter_publish_ack_seconds_count":     5,
			"natter_publish_deliver_seconds_count": 5,
			`natter_handshakes_total{result="ok"}`: 2,
			"natter_handshake_seconds_count":       2,
			"natter_chat_subscriptions":            1,
		} {
			if got := tn.scrape(sample); got != want {
				return fmt.Errorf("%s = %v, want %v", sample, got, want)
			}
		}
		return nil
	})
	a.Conn.Close()
	checkFor(t, 5*time.Second, func() error {
		if got := tn.scrape(`natter_closes_total{reason="io_error"}`) + tn.scrape(`natter_closes_total{reason="client_closed"}`); got < 1 {
			return fmt.Errorf("no close counted")
		}
		return nil
	})
}

func (tn *testNode) readyz() (int, string) {
	resp, err := http.Get(tn.url("/readyz"))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// waitReady waits until /readyz answers 200. A node just started says
// only that its presence view has not yet heard from every node (for
// peerAnswerWait after its first heartbeat): any other reason fails.
func (tn *testNode) waitReady(t *testing.T) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		st, body := tn.readyz()
		if st == http.StatusServiceUnavailable && body != "presence: not yet heard from every node" {
			t.Fatalf("readyz of a node starting = %d %q", st, body)
		}
		if st != http.StatusOK || body != "ready" {
			return fmt.Errorf("readyz = %d %q", st, body)
		}
		return nil
	})
}

// TestReadyzFollowsNATS: a node is ready while its NATS connection and
// JetStream answer (and every fan-out loop passes its canary: fanout's
// TestCheckLoopsFindsStuckLoop), and not ready, saying why, once NATS is
// gone.
func TestReadyzFollowsNATS(t *testing.T) {
	ns := storetest.RunServer(t)
	tn := startNode(t, func(c *Config) { c.NATSURL = ns.ClientURL() })
	tn.waitReady(t)
	ns.Shutdown()
	checkFor(t, 10*time.Second, func() error {
		if st, body := tn.readyz(); st != http.StatusServiceUnavailable || !strings.HasPrefix(body, "nats ") {
			return fmt.Errorf("readyz without NATS = %d %q", st, body)
		}
		return nil
	})
}

// TestReadyzFalseWhenDraining: readiness turns false when a drain
// starts, before the node closes its first WebSocket (so a load balancer
// stops sending new connections before clients move), while the node
// still serves through its drain delay.
func TestReadyzFalseWhenDraining(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.DrainDelay = 2 * time.Second; c.AllowGuests = true })
	a := tn.dial("/ws")
	done := make(chan struct{})
	go func() {
		defer close(done)
		tn.stop()
	}()
	checkFor(t, 10*time.Second, func() error {
		select {
		case <-a.Done():
			t.Fatal("the device was closed before readyz reported the drain")
		default:
		}
		if st, body := tn.readyz(); st != http.StatusServiceUnavailable || body != "draining" {
			return fmt.Errorf("readyz = %d %q", st, body)
		}
		return nil
	})
	if code := a.closeCode(); code != 1001 {
		t.Fatalf("close code %d, want 1001", code)
	}
	<-done
}
