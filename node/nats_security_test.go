package node

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/natterchat/natter/internal/testcerts"
	"github.com/natterchat/natter/store/storetest"
)

// newNKeyUser makes an NKey user and writes its seed to a file; it
// returns the public key and the file.
func newNKeyUser(t *testing.T) (string, string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	seed, _ := kp.Seed()
	path := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(path, append(seed, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return pub, path
}

// wantStartError checks that a node with cfg does not start and that its
// error says want.
func wantStartError(t *testing.T, cfg Config, want string) {
	t.Helper()
	cfg.DataDir, cfg.Secret, cfg.Logger = t.TempDir(), testSecret, testLogger()
	n, err := New(cfg)
	if err == nil {
		_ = n.Shutdown(context.Background())
		t.Fatalf("New succeeded; want an error saying %q", want)
	}
	if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
		t.Fatalf("New: %v\nwant it to say %q", err, want)
	}
	t.Logf("start-up error: %v", err)
}

// TestExternalNATSWithNKey: an external NATS that admits one NKey user;
// the node connects with that user's seed and works; another seed, no
// seed and a seed file that is not one are clear start-up errors.
func TestExternalNATSWithNKey(t *testing.T) {
	pub, seedFile := newNKeyUser(t)
	ns := storetest.RunServerWith(t, t.TempDir(), func(o *server.Options) {
		o.Nkeys = []*server.NkeyUser{{Nkey: pub}}
	})
	tn := startNode(t, func(c *Config) { c.NATSURL, c.NATSNKeyFile = ns.ClientURL(), seedFile })
	a := tn.register("nkeyuser")
	if st := tn.api("GET", "/api/me", a.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("GET /api/me through a node on the NKey user: %d", st)
	}

	_, otherSeed := newNKeyUser(t)
	wantStartError(t, Config{NATSURL: ns.ClientURL(), NATSNKeyFile: otherSeed}, "authorization violation")
	wantStartError(t, Config{NATSURL: ns.ClientURL()}, "authorization violation")
	bad := filepath.Join(t.TempDir(), "bad.nk")
	if err := os.WriteFile(bad, []byte("not a seed\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantStartError(t, Config{NATSURL: ns.ClientURL(), NATSNKeyFile: bad}, "NKey seed")
	wantStartError(t, Config{NATSURL: ns.ClientURL(), NATSCredsFile: filepath.Join(t.TempDir(), "none.creds")}, "none.creds")
}

// TestExternalNATSWithClientCertificate: an external NATS that requires
// TLS with client certificates from its CA; the node connects with one,
// checking the server against the CA, and fails clearly without one.
func TestExternalNATSWithClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	srv := ca.Issue(t, dir, "nats", "127.0.0.1")
	cli := ca.Issue(t, dir, "natter", "natter-node")
	ns := storetest.RunServerWith(t, t.TempDir(), func(o *server.Options) {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srv.CertFile, KeyFile: srv.KeyFile, CaFile: ca.File, Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		o.TLS, o.TLSVerify, o.TLSConfig, o.TLSTimeout = true, true, tc, 5
	})
	url := ns.ClientURL() // tls://, as the server requires TLS
	tn := startNode(t, func(c *Config) {
		c.NATSURL = url
		c.NATSTLSCertFile, c.NATSTLSKeyFile, c.NATSTLSCAFile = cli.CertFile, cli.KeyFile, ca.File
	})
	tn.register("certuser")

	// Without a client certificate the server ends the handshake.
	wantStartError(t, Config{NATSURL: url, NATSTLSCAFile: ca.File}, "connect to NATS")
	// Without the CA the node does not trust the server.
	wantStartError(t, Config{NATSURL: url, NATSTLSCertFile: cli.CertFile, NATSTLSKeyFile: cli.KeyFile}, "certificate")
}

// TestConfigRefused: settings that cannot work together, the node's own
// and its NATS link's (node/natslink tests each of those), are refused
// before anything starts.
func TestConfigRefused(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"certificate without key", Config{TLSCertFile: "a"}, "TLSCertFile and TLSKeyFile"},
		{"unknown sync", Config{Sync: "sometimes"}, "Sync must be"},
		{"creds and nkey", Config{NATSURL: "nats://127.0.0.1:1", NATSCredsFile: "a", NATSNKeyFile: "b"}, "set one"},
		{"route credentials without cluster", Config{ClusterUser: "a", ClusterPassword: "b"}, "need ClusterListen"},
		{"site without domain", Config{LeafNodeRemotes: []string{"nats-leaf://127.0.0.1:7422"}}, "JetStream domain"},
		{"bad leaf listen", Config{JetStreamDomain: "hub", LeafNodeListen: "nowhere"}, "leafnode-listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantStartError(t, tc.cfg, tc.want) })
	}
}

// TestExternalNATSWithCreds: an external NATS in operator mode (JWT
// accounts); the node connects with a user's credentials file, and a
// user of an account the server does not know is refused at start.
func TestExternalNATSWithCreds(t *testing.T) {
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	oc := jwt.NewOperatorClaims(opub)
	if _, err := oc.Encode(okp); err != nil {
		t.Fatal(err)
	}
	account := func(jetStream bool) (nkeys.KeyPair, string) {
		akp, _ := nkeys.CreateAccount()
		apub, _ := akp.PublicKey()
		ac := jwt.NewAccountClaims(apub)
		if jetStream {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		ajwt, err := ac.Encode(okp)
		if err != nil {
			t.Fatal(err)
		}
		return akp, ajwt
	}
	credsFor := func(akp nkeys.KeyPair) string {
		ukp, _ := nkeys.CreateUser()
		upub, _ := ukp.PublicKey()
		ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
		if err != nil {
			t.Fatal(err)
		}
		seed, _ := ukp.Seed()
		creds, err := jwt.FormatUserConfig(ujwt, seed)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "user.creds")
		if err := os.WriteFile(path, creds, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	known, knownJWT := account(true)
	unknown, _ := account(true)
	system, systemJWT := account(false) // the system account may not have JetStream
	resolver := &server.MemAccResolver{}
	knownPub, _ := known.PublicKey()
	systemPub, _ := system.PublicKey()
	for pub, j := range map[string]string{knownPub: knownJWT, systemPub: systemJWT} {
		if err := resolver.Store(pub, j); err != nil {
			t.Fatal(err)
		}
	}
	ns := storetest.RunServerWith(t, t.TempDir(), func(o *server.Options) {
		o.TrustedOperators = []*jwt.OperatorClaims{oc}
		o.AccountResolver = resolver
		o.SystemAccount = systemPub
	})
	tn := startNode(t, func(c *Config) { c.NATSURL, c.NATSCredsFile = ns.ClientURL(), credsFor(known) })
	tn.register("credsuser")

	wantStartError(t, Config{NATSURL: ns.ClientURL(), NATSCredsFile: credsFor(unknown)}, "authorization violation")
}
