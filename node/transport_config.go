package node

import (
	"errors"
	"fmt"
)

// validateTransport refuses transport-security settings that are
// incomplete or that configure a NATS the node does not use: a setting
// silently ignored would leave a link in the clear that the operator
// believes protected.
func (c *Config) validateTransport() error {
	pairs := []struct {
		a, b   string
		va, vb string
	}{
		{"TLSCertFile", "TLSKeyFile", c.TLSCertFile, c.TLSKeyFile},
		{"ClusterTLSCertFile", "ClusterTLSKeyFile", c.ClusterTLSCertFile, c.ClusterTLSKeyFile},
		{"ClusterTLSCertFile", "ClusterTLSCAFile", c.ClusterTLSCertFile, c.ClusterTLSCAFile},
		{"ClusterUser", "ClusterPassword", c.ClusterUser, c.ClusterPassword},
		{"NATSTLSCertFile", "NATSTLSKeyFile", c.NATSTLSCertFile, c.NATSTLSKeyFile},
	}
	for _, p := range pairs {
		if (p.va == "") != (p.vb == "") {
			return fmt.Errorf("node: %s and %s go together; set both or neither", p.a, p.b)
		}
	}
	clustered := c.ClusterTLSCertFile != "" || c.ClusterUser != ""
	external := c.NATSCredsFile != "" || c.NATSNKeyFile != "" || c.NATSTLSCertFile != "" || c.NATSTLSCAFile != ""
	switch {
	case clustered && c.NATSURL != "":
		return errors.New("node: the cluster TLS and route credentials configure the embedded NATS server's routes; with NATSURL configure the external server instead")
	case clustered && c.ClusterListen == "":
		return errors.New("node: the cluster TLS and route credentials need ClusterListen")
	case external && c.NATSURL == "":
		return errors.New("node: the NATS credentials, NKey and TLS client settings are for an external NATS; set NATSURL")
	case c.NATSCredsFile != "" && c.NATSNKeyFile != "":
		return errors.New("node: NATSCredsFile and NATSNKeyFile are two ways to authenticate; set one")
	}
	return nil
}
