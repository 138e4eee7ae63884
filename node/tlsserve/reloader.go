package tlsserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader holds the certificate the node serves TLS with and
// replaces it when its files change: tls.Config.GetCertificate reads the
// current one for every handshake, so new connections get a renewed
// certificate without a restart and open ones keep theirs. A new pair
// that does not load (a half-written file, a key that does not match)
// keeps the old one and logs why.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu sync.Mutex
	// Guarded by mu: the files' contents last tried, loaded or refused.
	// Contents rather than modification times: a rewrite within one
	// timestamp tick, or a symlink swapped to an older file (as mounted
	// secrets are), still counts as a change.
	seenCert, seenKey []byte
}

// NewReloader loads the pair once; a pair that does not load is a
// start-up error. log receives the outcome of every later reload.
func NewReloader(certFile, keyFile string, log *slog.Logger) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log}
	if _, err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// getCertificate is tls.Config.GetCertificate.
func (r *Reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// reload reads both files and, when either changed since the last try,
// loads the pair. It reports whether a new certificate is in use; on an
// error the previous one stays.
func (r *Reloader) reload() (bool, error) {
	certPEM, err := os.ReadFile(r.certFile)
	if err != nil {
		return false, fmt.Errorf("node: read TLS certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(r.keyFile)
	if err != nil {
		return false, fmt.Errorf("node: read TLS key: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert.Load() != nil && bytes.Equal(certPEM, r.seenCert) && bytes.Equal(keyPEM, r.seenKey) {
		return false, nil
	}
	r.seenCert, r.seenKey = certPEM, keyPEM
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("node: load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil {
		return false, errors.New("node: TLS certificate has no leaf")
	}
	r.cert.Store(&cert)
	return true, nil
}

// Reload reads the files again now, as the watch does, and logs the
// outcome (for SIGHUP, through the node's ReloadTLS). A pair that does not
// load keeps the current certificate and is returned as the error.
func (r *Reloader) Reload() error {
	changed, err := r.reload()
	switch {
	case err != nil:
		r.log.Error("TLS certificate not reloaded; keeping the current one", slog.Any("err", err))
	case changed:
		r.log.Info("TLS certificate reloaded", certAttrs(r.cert.Load().Leaf)...)
	}
	return err
}

// Watch reloads every interval until ctx ends.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.Reload()
		}
	}
}

func certAttrs(c *x509.Certificate) []any {
	return []any{slog.String("subject", c.Subject.String()), slog.Any("dns_names", c.DNSNames),
		slog.Time("not_after", c.NotAfter), slog.String("serial", c.SerialNumber.String())}
}

// Config is the node's TLS configuration for the page, the API and wss:
// the reloader's certificate, TLS 1.2 or newer, and only HTTP/1.1
// offered by ALPN (the node serves HTTP/1.1 and WebSocket upgrades on the
// connections it accepts itself, not HTTP/2).
func (r *Reloader) Config() *tls.Config {
	return &tls.Config{
		GetCertificate: r.getCertificate,
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"http/1.1"},
	}
}
