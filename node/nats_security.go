package node

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// routeTLSTimeout bounds a route's TLS handshake (nats-server's default
// is 2s, short for a loaded machine whose routes all handshake at once).
const routeTLSTimeout = 5 * time.Second

// secureRoutes puts the embedded server's routes under mutual TLS and
// credentials, as configured. Every server both accepts and dials routes,
// so one tls.Config serves both sides: the node's certificate is
// presented either way, and the CA checks the peer either way (as
// nats-server's own cluster tls block does).
func (n *Node) secureRoutes(c *server.ClusterOpts) error {
	if n.cfg.ClusterTLSCertFile != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: n.cfg.ClusterTLSCertFile,
			KeyFile:  n.cfg.ClusterTLSKeyFile,
			CaFile:   n.cfg.ClusterTLSCAFile,
			Verify:   true,
		})
		if err != nil {
			return fmt.Errorf("node: cluster TLS: %w", err)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
		tc.RootCAs = tc.ClientCAs
		c.TLSConfig, c.TLSTimeout = tc, routeTLSTimeout.Seconds()
	}
	// Routes that come in must present these; the routes this server
	// dials carry them in their URL (withRouteUser), and the ones it
	// learns from its peers get them from nats-server itself.
	c.Username, c.Password = n.cfg.ClusterUser, n.cfg.ClusterPassword
	return nil
}

// withRouteUser adds the route credentials to a route URL that has none
// of its own.
func withRouteUser(u *url.URL, user, password string) *url.URL {
	if user == "" || u.User != nil {
		return u
	}
	v := *u
	v.User = url.UserPassword(user, password)
	return &v
}

// externalAuth are the options that authenticate the node to an
// external NATS beyond what its URL says: a credentials file, an NKey
// seed, a TLS client certificate and the CA of the server's.
func (n *Node) externalAuth() ([]nats.Option, error) {
	var opts []nats.Option
	if n.cfg.NATSCredsFile != "" {
		opts = append(opts, nats.UserCredentials(n.cfg.NATSCredsFile))
	}
	if n.cfg.NATSNKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(n.cfg.NATSNKeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: NATS NKey seed %s: %w", n.cfg.NATSNKeyFile, err)
		}
		opts = append(opts, o)
	}
	if n.cfg.NATSTLSCertFile != "" {
		opts = append(opts, nats.ClientCert(n.cfg.NATSTLSCertFile, n.cfg.NATSTLSKeyFile))
	}
	if n.cfg.NATSTLSCAFile != "" {
		opts = append(opts, nats.RootCAs(n.cfg.NATSTLSCAFile))
	}
	return opts, nil
}

// redactURLs hides the passwords of comma-separated URLs, for errors and
// logs.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); !ok {
			u.User = url.User("xxxxx") // a token
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}
