package tlsserve

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testcerts"
)

// TestReloaderKeepsCertificate: a new pair replaces the certificate, a
// pair that does not load keeps the current one and is the error, and
// unchanged files change nothing.
func TestReloaderKeepsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, dir, "ca")
	first, second := ca.Issue(t, dir, "first", "127.0.0.1"), ca.Issue(t, dir, "second", "127.0.0.1")
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	use := func(p testcerts.Pair) {
		copyFile(t, p.CertFile, certFile)
		copyFile(t, p.KeyFile, keyFile)
	}
	use(first)
	r, err := NewReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() string {
		c, _ := r.Config().GetCertificate(nil)
		return c.Leaf.SerialNumber.String()
	}
	firstSerial := serial()
	if changed, err := r.reload(); changed || err != nil {
		t.Fatalf("unchanged files: changed %v, err %v", changed, err)
	}
	copyFile(t, second.KeyFile, keyFile) // the first certificate with the second key
	if err := r.Reload(); err == nil || serial() != firstSerial {
		t.Fatalf("a mismatched pair: err %v, serving %s (want %s)", err, serial(), firstSerial)
	}
	use(second)
	if err := r.Reload(); err != nil || serial() == firstSerial {
		t.Fatalf("a new pair: err %v, still serving %s", err, serial())
	}
	if _, err := NewReloader(filepath.Join(dir, "none.crt"), keyFile, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("NewReloader accepted a missing certificate")
	}
}

// TestHandshakeAnswersPlainHTTP: a plain HTTP request on the TLS port
// gets a 400 that says why; the handshake reports the failure.
func TestHandshakeAnswersPlainHTTP(t *testing.T) {
	dir := t.TempDir()
	pair := testcerts.NewCA(t, dir, "ca").Issue(t, dir, "srv", "127.0.0.1")
	r, err := NewReloader(pair.CertFile, pair.KeyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		done <- Handshake(conn, tls.Server(conn, r.Config()))
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(got), "HTTP/1.0 400 ") || !strings.Contains(string(got), "HTTPS server") {
		t.Fatalf("answer %q", got)
	}
	if err := <-done; err == nil {
		t.Fatal("Handshake succeeded on plain HTTP")
	}
	if looksLikeHTTP([]byte{0x16, 3, 1, 0, 0x80}) {
		t.Fatal("a TLS record header looked like HTTP")
	}
}

// TestHandlerSetsRequestTLS: the state kept in the connection's context
// becomes Request.TLS.
func TestHandlerSetsRequestTLS(t *testing.T) {
	var got *tls.ConnectionState
	h := Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.TLS }))
	st := &tls.ConnectionState{ServerName: "example"}
	ctx := context.WithValue(context.Background(), stateKey{}, st)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if got != st {
		t.Fatalf("Request.TLS %v, want the context's", got)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if got != nil {
		t.Fatalf("Request.TLS %v without TLS", got)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
