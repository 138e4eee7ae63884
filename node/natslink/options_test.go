package natslink

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// TestTransportRefused: incomplete or misplaced transport settings are
// refused.
func TestTransportRefused(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"creds and nkey", Options{NATSURL: "nats://127.0.0.1:1", NATSCredsFile: "a", NATSNKeyFile: "b"}, "set one"},
		{"nkey without external NATS", Options{NATSNKeyFile: "b"}, "set NATSURL"},
		{"client cert without key", Options{NATSURL: "nats://127.0.0.1:1", NATSTLSCertFile: "a"}, "NATSTLSCertFile and NATSTLSKeyFile"},
		{"route TLS without CA", Options{ClusterListen: "127.0.0.1:0", ClusterTLSCertFile: "a", ClusterTLSKeyFile: "b"}, "ClusterTLSCAFile"},
		{"route user without password", Options{ClusterListen: "127.0.0.1:0", ClusterUser: "a"}, "ClusterPassword"},
		{"route credentials without cluster", Options{ClusterUser: "a", ClusterPassword: "b"}, "need ClusterListen"},
		{"route credentials with external NATS", Options{NATSURL: "nats://127.0.0.1:1", ClusterUser: "a", ClusterPassword: "b"}, "external server"},
		{"monitor with external NATS", Options{NATSURL: "nats://127.0.0.1:1", NATSMonitor: "127.0.0.1:0"}, "NATSMonitor"},
		{"sync always with external NATS", Options{NATSURL: "nats://127.0.0.1:1", SyncAlways: true}, "sync_interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantError(t, tc.o.Validate(), tc.want) })
	}
}

// TestLeafRefused: leaf settings that cannot work are refused, the
// malformed ones when the server's options are built.
func TestLeafRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"external NATS", Options{NATSURL: "nats://127.0.0.1:4222", JetStreamDomain: "hub", LeafNodeRemotes: []string{"nats-leaf://127.0.0.1:7422"}}, "external NATS"},
		{"sync always", Options{SyncAlways: true, JetStreamDomain: "hub", LeafNodeRemotes: []string{"nats-leaf://127.0.0.1:7422"}}, "hub's"},
		{"bad URL", Options{JetStreamDomain: "hub", LeafNodeRemotes: []string{"127.0.0.1:7422"}}, "not a URL"},
		{"site without domain", Options{LeafNodeRemotes: []string{"nats-leaf://127.0.0.1:7422"}}, "JetStream domain"},
		{"hub without domain", Options{LeafNodeListen: "127.0.0.1:7422"}, "JetStream domain"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantError(t, tc.o.Validate(), tc.want) })
	}
	o := Options{JetStreamDomain: "hub", LeafNodeListen: "nowhere"}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	_, err := o.ServerOptions()
	wantError(t, err, "leafnode-listen")
}

// TestServerOptions: a clustered site node gets the route listener,
// credentials in its route URLs, a loopback client port, and no
// JetStream of its own; a hub node gets its domain.
func TestServerOptions(t *testing.T) {
	site := Options{ServerName: "natter-a", StoreDir: "/data/js", ClusterListen: "127.0.0.1:6222", ClusterName: "c",
		Routes: []string{" nats://h2:6222"}, ClusterUser: "u", ClusterPassword: "p",
		JetStreamDomain: "hub", LeafNodeRemotes: []string{"nats-leaf://hub:7422"}}
	so, err := site.ServerOptions()
	if err != nil {
		t.Fatal(err)
	}
	if so.JetStream || so.StoreDir != "" || len(so.LeafNode.Remotes) != 1 {
		t.Errorf("site: JetStream %v in %q, remotes %d", so.JetStream, so.StoreDir, len(so.LeafNode.Remotes))
	}
	if so.DontListen || so.Host != "127.0.0.1" || so.Port != server.RANDOM_PORT {
		t.Errorf("site: client port %v %s:%d, want a random loopback one", !so.DontListen, so.Host, so.Port)
	}
	if len(so.Routes) != 1 || so.Routes[0].User.String() != "u:p" || so.Cluster.Username != "u" || so.Cluster.Port != 6222 {
		t.Errorf("site: routes %v, cluster %+v", so.Routes, so.Cluster)
	}
	hub := Options{ServerName: "natter-b", StoreDir: "/data/js", SyncAlways: true, JetStreamDomain: "hub", LeafNodeListen: ":7422", NATSMonitor: "127.0.0.1:0"}
	so, err = hub.ServerOptions()
	if err != nil {
		t.Fatal(err)
	}
	if !so.JetStream || so.StoreDir != "/data/js" || !so.SyncAlways || so.JetStreamDomain != "hub" || so.LeafNode.Host != "0.0.0.0" || so.LeafNode.Port != 7422 {
		t.Errorf("hub: %+v", so)
	}
	if !so.DontListen || so.HTTPPort != server.RANDOM_PORT {
		t.Errorf("hub: DontListen %v, monitoring port %d", so.DontListen, so.HTTPPort)
	}
	bad := Options{ClusterListen: "127.0.0.1:6222", Routes: []string{"h2:6222"}}
	_, err = bad.ServerOptions()
	wantError(t, err, "not a URL like nats://")
	_, err = (&Options{Routes: []string{"nats://h2:6222"}}).ServerOptions()
	wantError(t, err, "need a cluster listen address")
}

// TestRedactURLs: passwords and tokens in NATS URLs stay out of errors.
func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats://u:secret@h1:4222, nats://tok3n@h2:4222,nats://h3:4222")
	if strings.Contains(got, "secret") || strings.Contains(got, "tok3n") || !strings.Contains(got, "h3:4222") {
		t.Fatalf("redactURLs: %q", got)
	}
}

func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want an error saying %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}
