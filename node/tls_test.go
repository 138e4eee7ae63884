package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testcerts"
	"github.com/natterchat/natter/internal/wstest"
	"github.com/natterchat/natter/node/wire"
)

// startTLSNode starts a node serving TLS with a certificate for
// 127.0.0.1 from a fresh test CA.
func startTLSNode(t *testing.T, mod func(*Config)) (*testNode, *testcerts.CA, testcerts.Pair) {
	t.Helper()
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	pair := ca.Issue(t, dir, "node", "127.0.0.1")
	tn := startNode(t, func(c *Config) {
		c.TLSCertFile, c.TLSKeyFile = pair.CertFile, pair.KeyFile
		if mod != nil {
			mod(c)
		}
	})
	return tn, ca, pair
}

// httpsClient trusts only pool.
func httpsClient(t *testing.T, pool *x509.CertPool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// TestTLSServesPageAPIAndWSS: a node with a certificate serves the page,
// the API and WebSockets over TLS on its one port; the API's wsUrl says
// wss; a device sends and receives over wss (served from epoll);
// plain HTTP and ws:// to the same port fail cleanly.
func TestTLSServesPageAPIAndWSS(t *testing.T) {
	tn, ca, _ := startTLSNode(t, nil)
	hc := httpsClient(t, ca.Pool())
	base := "https://" + tn.addr

	resp, err := hc.Get(base + "/")
	if err != nil {
		t.Fatalf("GET / over TLS: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("<html")) {
		t.Fatalf("GET / over TLS: %d %.100q", resp.StatusCode, page)
	}
	if resp.TLS == nil {
		t.Fatal("GET / over TLS: no TLS state")
	}

	sess := registerTLS(t, hc, tn, "tlsuser")
	if want := "wss://" + tn.addr + "/ws?token="; !strings.HasPrefix(sess.WsURL, want) {
		t.Fatalf("wsUrl %q, want it to start with %q", sess.WsURL, want)
	}

	d := ws.Dialer{Timeout: 10 * time.Second, TLSConfig: &tls.Config{RootCAs: ca.Pool()}}
	dial := func() *client {
		t.Helper()
		wc, err := wstest.Dial(context.Background(), d, sess.WsURL)
		if err != nil {
			t.Fatalf("dial %s: %v", sess.WsURL, err)
		}
		t.Cleanup(func() { wc.Conn.Close() })
		if _, ok := wc.Conn.(*tls.Conn); !ok {
			t.Fatalf("dialed a %T, want a TLS connection", wc.Conn)
		}
		c := &client{Client: wc, t: t, tn: tn}
		c.expect(wire.TypeWelcome).decode(t, &c.welcome)
		c.expect(wire.TypeUnread).decode(t, &c.unread) // a user's device gets its read state next
		return c
	}
	c := dial()
	chat := c.joinRoom("tls-lobby")
	c.sendMsg(chat, "over TLS", "tls-1", true)
	if c.own.Message != "over TLS" {
		t.Fatalf("the device's own copy says %q", c.own.Message)
	}

	// Plain HTTP to the TLS port gets net/http's answer, not garbage.
	code, text := httpGet(t, "http://"+tn.addr+"/healthz")
	if code != http.StatusBadRequest || !strings.Contains(text, "HTTPS") {
		t.Fatalf("plain GET to the TLS port: %d %q", code, text)
	}
	if _, err := wstest.Dial(context.Background(), ws.Dialer{Timeout: 10 * time.Second}, "ws://"+tn.addr+"/ws?token="+sess.Token); err == nil {
		t.Fatal("a ws:// dial to the TLS port succeeded")
	}
	// A browser offering HTTP/2 is answered with HTTP/1.1: the node
	// speaks HTTP/1.1 and WebSocket upgrades on its connections.
	h2, err := tls.Dial("tcp", tn.addr, &tls.Config{RootCAs: ca.Pool(), NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := h2.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("ALPN chose %q, want http/1.1", p)
	}
	h2.Close()
	// A client that does not trust the certificate is refused.
	if _, err := tls.Dial("tcp", tn.addr, &tls.Config{}); err == nil {
		t.Fatal("a TLS client without the CA accepted the node's certificate")
	}
}

// tlsSession is a registration's answer.
type tlsSession struct{ Token, WsURL string }

// registerTLS registers a user through the API over TLS.
func registerTLS(t *testing.T, hc *http.Client, tn *testNode, name string) tlsSession {
	t.Helper()
	body := strings.NewReader(fmt.Sprintf(`{"name":%q,"password":"password-%s"}`, name, name))
	resp, err := hc.Post("https://"+tn.addr+"/api/users", "application/json", body)
	if err != nil {
		t.Fatalf("register over TLS: %v", err)
	}
	defer resp.Body.Close()
	var sess tlsSession
	if err := json.NewDecoder(resp.Body).Decode(&sess); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("register over TLS: %d %v", resp.StatusCode, err)
	}
	return sess
}

// handshakeSerial makes a TLS handshake with the node and returns the
// serial number of the certificate it presented.
func handshakeSerial(addr string, pool *x509.CertPool) (string, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// TestTLSReloadWhenFilesChange: rewritten certificate files are picked up
// by the periodic check, and new handshakes get the new certificate
// while the open connection keeps working.
func TestTLSReloadWhenFilesChange(t *testing.T) {
	tn, ca, first := startTLSNode(t, func(c *Config) { c.TLSReloadInterval = 50 * time.Millisecond })
	if got, err := handshakeSerial(tn.addr, ca.Pool()); err != nil || got != first.Cert.SerialNumber.String() {
		t.Fatalf("first handshake: serial %s, %v; want %s", got, err, first.Cert.SerialNumber)
	}
	hc := httpsClient(t, ca.Pool())
	resp, err := hc.Get("https://" + tn.addr + "/healthz") // a keep-alive connection from before
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	second := ca.Issue(t, tn.dataDir, "renewed", "127.0.0.1")
	replaceFile(t, second.CertFile, first.CertFile)
	replaceFile(t, second.KeyFile, first.KeyFile)
	want := second.Cert.SerialNumber.String()
	checkFor(t, 30*time.Second, func() error {
		got, err := handshakeSerial(tn.addr, ca.Pool())
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("handshake got serial %s, want the renewed %s", got, want)
		}
		return nil
	})
	if resp, err = hc.Get("https://" + tn.addr + "/healthz"); err != nil {
		t.Fatalf("request after the reload: %v", err)
	}
	resp.Body.Close()
}

// TestTLSReloadOnDemand: ReloadTLS (SIGHUP) loads a changed pair at once;
// a pair that does not load is an error and the node keeps serving the
// certificate it had.
func TestTLSReloadOnDemand(t *testing.T) {
	tn, ca, first := startTLSNode(t, func(c *Config) { c.TLSReloadInterval = time.Hour })
	second := ca.Issue(t, t.TempDir(), "renewed", "127.0.0.1")
	replaceFile(t, second.CertFile, first.CertFile)
	replaceFile(t, second.KeyFile, first.KeyFile)
	if err := tn.ReloadTLS(); err != nil {
		t.Fatalf("ReloadTLS: %v", err)
	}
	want := second.Cert.SerialNumber.String()
	if got, err := handshakeSerial(tn.addr, ca.Pool()); err != nil || got != want {
		t.Fatalf("after ReloadTLS: serial %s, %v; want %s", got, err, want)
	}

	// A key that does not match the certificate, then one that is not
	// PEM at all: both refused, the renewed certificate stays.
	third := ca.Issue(t, t.TempDir(), "third", "127.0.0.1")
	replaceFile(t, third.CertFile, first.CertFile)
	if err := tn.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "load TLS certificate") {
		t.Fatalf("ReloadTLS with a mismatched key: %v, want a load error", err)
	}
	if err := os.WriteFile(first.KeyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tn.ReloadTLS(); err == nil {
		t.Fatal("ReloadTLS with a garbage key succeeded")
	}
	if got, err := handshakeSerial(tn.addr, ca.Pool()); err != nil || got != want {
		t.Fatalf("after failed reloads: serial %s, %v; want the renewed %s", got, err, want)
	}
}

// TestTLSBadCertificateAtStart: a node whose certificate does not load
// does not start, and says which files.
func TestTLSBadCertificateAtStart(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	a := ca.Issue(t, dir, "a", "127.0.0.1")
	b := ca.Issue(t, dir, "b", "127.0.0.1")
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"mismatched key", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = a.CertFile, b.KeyFile }, "load TLS certificate"},
		{"missing file", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = dir+"/none.pem", a.KeyFile }, "read TLS certificate"},
		{"key without certificate", func(c *Config) { c.TLSKeyFile = a.KeyFile }, "TLSCertFile and TLSKeyFile go together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DataDir: t.TempDir(), Secret: testSecret, Logger: testLogger()}
			tc.mod(&cfg)
			n, err := New(cfg)
			if err == nil {
				_ = n.Shutdown(context.Background())
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want %q", err, tc.want)
			}
		})
	}
}

// replaceFile puts src's contents at dst by rename, as tools that renew
// certificates do, so the node never reads a half-written file.
func replaceFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestTLSStalledHandshake: a client that opens a TCP connection to the
// TLS port and sends nothing, or half a ClientHello, is closed after
// --header-timeout like one that stalls its request head; a client
// behind it is served meanwhile.
func TestTLSStalledHandshake(t *testing.T) {
	tn, ca, _ := startTLSNode(t, func(c *Config) { c.HeaderTimeout = 300 * time.Millisecond })
	for _, sent := range []string{"", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"} {
		conn, err := net.DialTimeout("tcp", tn.addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, sent); err != nil {
			t.Fatal(err)
		}
		if _, err := handshakeSerial(tn.addr, ca.Pool()); err != nil {
			t.Fatalf("a handshake behind a stalled one: %v", err)
		}
		// Bounded wait for the node to end it (no timing claim).
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the node kept a stalled TLS handshake (%q sent) open", sent)
		}
		t.Logf("stalled handshake (%d bytes sent) closed after %d bytes from the node: %v", len(sent), n, err)
		conn.Close()
	}
}

// TestTLSUpgradeAfterHTTP: on a TLS keep-alive connection that served a
// plain request first, an upgrade reaches /ws through net/http (and a
// hijacked connection) and serves the protocol.
func TestTLSUpgradeAfterHTTP(t *testing.T) {
	tn, ca, _ := startTLSNode(t, nil)
	a := registerTLS(t, httpsClient(t, ca.Pool()), tn, "tls-keepalive")
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", tn.addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: "+tn.addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz over TLS: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	req := "GET /ws?token=" + a.Token + " HTTP/1.1\r\nHost: " + tn.addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade over TLS after a request: %v %v", resp, err)
	}
	hdr, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatalf("read the first frame: %v", err)
	}
	payload := make([]byte, hdr.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(payload, []byte(wire.TypeWelcome)) {
		t.Fatalf("first frame %q, want a Welcome", payload)
	}
}
