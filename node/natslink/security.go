package natslink

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
func (o *Options) secureRoutes(c *server.ClusterOpts) error {
	if o.ClusterTLSCertFile != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: o.ClusterTLSCertFile,
			KeyFile:  o.ClusterTLSKeyFile,
			CaFile:   o.ClusterTLSCAFile,
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
	c.Username, c.Password = o.ClusterUser, o.ClusterPassword
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

// Connect connects to the external NATS at NATSURL with opts and the
// options that authenticate the node beyond what the URL says.
func Connect(o Options, opts ...nats.Option) (*nats.Conn, error) {
	auth, err := o.externalAuth()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(o.NATSURL, append(opts, auth...)...)
	if err != nil {
		return nil, fmt.Errorf("node: connect to NATS %s: %w", redactURLs(o.NATSURL), err)
	}
	return nc, nil
}

// externalAuth are the options that authenticate the node to an
// external NATS beyond what its URL says: a credentials file, an NKey
// seed, a TLS client certificate and the CA of the server's.
func (o *Options) externalAuth() ([]nats.Option, error) {
	var opts []nats.Option
	if o.NATSCredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.NATSCredsFile))
	}
	if o.NATSNKeyFile != "" {
		no, err := nats.NkeyOptionFromSeed(o.NATSNKeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: NATS NKey seed %s: %w", o.NATSNKeyFile, err)
		}
		opts = append(opts, no)
	}
	if o.NATSTLSCertFile != "" {
		opts = append(opts, nats.ClientCert(o.NATSTLSCertFile, o.NATSTLSKeyFile))
	}
	if o.NATSTLSCAFile != "" {
		opts = append(opts, nats.RootCAs(o.NATSTLSCAFile))
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
