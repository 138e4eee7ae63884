package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testcerts"
)

// TestClusterRoutesTLSAndCredentials: two nodes whose embedded NATS
// servers route to each other over mutual TLS with route credentials form
// one cluster (JetStream's meta group needs both, so both get ready), and
// a user registered through one logs in through the other. Each route
// port asks for TLS and credentials before anything else.
func TestClusterRoutesTLSAndCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two node processes")
	}
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "routes-ca")
	pairs := []testcerts.Pair{ca.Issue(t, dir, "route1", "127.0.0.1"), ca.Issue(t, dir, "route2", "127.0.0.1")}
	procs := startEmbeddedCluster(t, 2, func(i int) []string {
		return []string{"--cluster-tls-cert", pairs[i].CertFile, "--cluster-tls-key", pairs[i].KeyFile,
			"--cluster-tls-ca", ca.File, "--cluster-user", "natter-routes", "--cluster-password", "route-secret-1234"}
	})
	a := register(t, procs[0].addr, "routeuser")
	var out struct{ Token string }
	if st := api(t, procs[1].addr, "POST", "/api/sessions", "", map[string]string{"name": a.Name, "password": "password-" + a.Name}, &out); st != http.StatusOK || out.Token == "" {
		t.Fatalf("log in through node2 as a user registered through node1: %d", st)
	}
	for _, p := range procs {
		addr := routeAddr(t, p)
		// Without a certificate from the CA the route port says nothing.
		if _, err := routeInfo(addr, &tls.Config{RootCAs: ca.Pool()}); err == nil {
			t.Fatalf("%s's route port answered a client without a certificate", p.name)
		}
		info, err := routeInfo(addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{pairs[0].TLS(t)}})
		if err != nil {
			t.Fatalf("%s's route port with a route certificate: %v", p.name, err)
		}
		if !info.TLSRequired || !info.AuthRequired {
			t.Fatalf("%s's route port INFO: tls_required %v, auth_required %v; want both", p.name, info.TLSRequired, info.AuthRequired)
		}
	}
}

// routeAddr is the --cluster-listen address of a process started by
// startEmbeddedCluster.
func routeAddr(t *testing.T, p *proc) string {
	t.Helper()
	args := p.cmd.Args
	for i, a := range args {
		if a == "--cluster-listen" && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatalf("%s has no --cluster-listen", p.name)
	return ""
}

// routeInfo reads the INFO a NATS route port sends first, over TLS
// (a route port with TLS handshakes before anything else).
func routeInfo(addr string, tc *tls.Config) (info struct {
	TLSRequired  bool `json:"tls_required"`
	AuthRequired bool `json:"auth_required"`
}, err error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, tc)
	if err != nil {
		return info, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return info, fmt.Errorf("read INFO: %w", err)
	}
	js, ok := strings.CutPrefix(strings.TrimSpace(line), "INFO ")
	if !ok {
		return info, fmt.Errorf("route port sent %q, not an INFO", line)
	}
	return info, json.Unmarshal([]byte(js), &info)
}

// TestTLSFlagsAndSIGHUP: a node process with --tls-cert and --tls-key
// serves over TLS (answering "starting" over TLS too while it starts),
// and on SIGHUP serves a renewed pair to new handshakes.
func TestTLSFlagsAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	first := ca.Issue(t, dir, "node", "127.0.0.1")
	addr := freeAddrs(t, 1)[0]
	p := startProc(t, "tls1", addr, t.TempDir(), "--tls-cert", first.CertFile, "--tls-key", first.KeyFile, "--tls-reload-interval", "1h")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	t.Cleanup(hc.CloseIdleConnections)
	checkFor(t, 2*time.Minute, func() error {
		resp, err := hc.Get("https://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %d", resp.StatusCode)
		}
		return nil
	})

	second := ca.Issue(t, t.TempDir(), "renewed", "127.0.0.1")
	replaceWith(t, second, first)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	want := second.Cert.SerialNumber.String()
	checkFor(t, time.Minute, func() error {
		got, err := serialOf(addr, ca.Pool())
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("serial %s, want the renewed %s", got, want)
		}
		return nil
	})
}

// serialOf makes a TLS handshake and returns the serial of the
// certificate the server presented.
func serialOf(addr string, pool *x509.CertPool) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// replaceWith writes src's certificate and key over dst's files.
func replaceWith(t *testing.T, src, dst testcerts.Pair) {
	t.Helper()
	for _, f := range [][2]string{{src.CertFile, dst.CertFile}, {src.KeyFile, dst.KeyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
