package node

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// nsDefaultSyncInterval is nats-server's default sync_interval, which
// "interval" keeps (docs/configuration.md says 2 minutes).
const nsDefaultSyncInterval = 2 * time.Minute

// TestSyncEmbedded: Sync reaches the embedded server, as its running
// JetStream configuration and its varz (what its monitoring serves)
// report it, and a node with SyncAlways stores and answers as usual.
func TestSyncEmbedded(t *testing.T) {
	for _, c := range []struct {
		name   string
		sync   SyncMode
		always bool
	}{
		{"default", "", false},
		{"interval", SyncInterval, false},
		{"always", SyncAlways, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tn := startNode(t, func(cfg *Config) { cfg.Sync = c.sync })
			if tn.ns == nil {
				t.Fatal("no embedded server")
			}
			jsc := tn.ns.JetStreamConfig()
			if jsc == nil || jsc.SyncAlways != c.always || jsc.SyncInterval != nsDefaultSyncInterval {
				t.Fatalf("JetStream config %+v: want SyncAlways %v, SyncInterval %v", jsc, c.always, nsDefaultSyncInterval)
			}
			v, err := tn.ns.Varz(&server.VarzOptions{})
			if err != nil {
				t.Fatalf("varz: %v", err)
			}
			if v.JetStream.Config == nil || v.JetStream.Config.SyncAlways != c.always {
				t.Fatalf("varz JetStream config %+v: want SyncAlways %v", v.JetStream.Config, c.always)
			}
			// Writes to the stream and buckets work: a user is stored
			// (the buckets) and a message posted (the stream).
			a := tn.register("sync-" + c.name)
			var room apiChat
			if st := tn.api("POST", "/api/chats", a.Token, map[string]string{"name": "sync-" + c.name, "kind": "public"}, &room); st != http.StatusCreated {
				t.Fatalf("create room: %d", st)
			}
			if p := postMessage(t, tn, a, room.ID, "durable?", ""); p.Seq == 0 {
				t.Fatalf("posted %+v", p)
			}
		})
	}
}

// TestSyncRefused: New refuses SyncAlways with an external NATS (whose own
// setting decides, so the node would promise what it cannot keep) and an
// unknown value, before it starts anything.
func TestSyncRefused(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"always with NATSURL", Config{NATSURL: "nats://127.0.0.1:1", Sync: SyncAlways}, "with NATSURL"},
		{"unknown value", Config{Sync: "sometimes"}, `not "sometimes"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir() + "/never-made"
			c.cfg.DataDir, c.cfg.Secret, c.cfg.Logger = dir, testSecret, testLogger()
			n, err := New(c.cfg)
			if err == nil {
				_ = n.Shutdown(t.Context())
				t.Fatalf("New accepted %+v", c.cfg)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data dir was made (%v): New started before refusing", err)
			}
		})
	}
}
