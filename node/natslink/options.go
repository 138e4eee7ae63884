// Package natslink is a node's link to NATS: the embedded nats-server it
// starts (its client and monitoring ports, its cluster routes under TLS
// and credentials, leaf nodes, the JetStream domain, where and how
// JetStream stores) or the credentials it presents to an external NATS,
// and the validation of those settings.
//
// It knows nothing of the node: node.Config maps its NATS settings into
// an Options. Its errors begin with "node:", as they are the node's
// start-up errors, and name the settings by their node.Config names,
// which Options shares.
package natslink

import (
	"errors"
	"fmt"
)

// Options are the NATS settings of one node; each field means what the
// node.Config field of the same name means.
type Options struct {
	// ServerName names the embedded server ("natter-<node id>").
	ServerName string
	// StoreDir is where the embedded server's JetStream keeps its files.
	StoreDir string
	// SyncAlways fsyncs every JetStream write of the embedded server
	// before it is acknowledged (node.Config.Sync "always").
	SyncAlways bool

	NATSURL         string
	NATSListen      string
	NATSMonitor     string
	ClusterListen   string
	ClusterName     string
	Routes          []string
	LeafNodeListen  string
	LeafNodeRemotes []string
	JetStreamDomain string

	ClusterTLSCertFile string
	ClusterTLSKeyFile  string
	ClusterTLSCAFile   string
	ClusterUser        string
	ClusterPassword    string

	NATSCredsFile   string
	NATSNKeyFile    string
	NATSTLSCertFile string
	NATSTLSKeyFile  string
	NATSTLSCAFile   string
}

// Validate refuses settings that cannot work together, before anything
// starts.
func (o *Options) Validate() error {
	if err := o.validateLeaf(); err != nil {
		return err
	}
	if o.NATSMonitor != "" && o.NATSURL != "" {
		return errors.New("node: NATSMonitor exposes the embedded NATS server's monitoring; with NATSURL use the external server's own monitoring port")
	}
	if o.SyncAlways && o.NATSURL != "" {
		// Refused rather than ignored: a node that says it fsyncs every
		// write while the external server does not would promise a
		// durability it does not have.
		return errors.New("node: Sync \"always\" configures the embedded NATS server; with NATSURL set sync_interval: always in the external server's jetstream block instead")
	}
	return o.validateTransport()
}

// validateLeaf refuses leaf settings that cannot work together.
func (o *Options) validateLeaf() error {
	if o.LeafNodeListen != "" && o.JetStreamDomain == "" {
		// A site reaches the hub's JetStream by its domain name.
		return errors.New("node: a hub node (LeafNodeListen) names its JetStream domain (JetStreamDomain), the same on every hub node")
	}
	if len(o.LeafNodeRemotes) == 0 {
		return nil
	}
	if o.JetStreamDomain == "" {
		return errors.New("node: a site node (LeafNodeRemotes) names the hub's JetStream domain (JetStreamDomain)")
	}
	if o.NATSURL != "" {
		return errors.New("node: LeafNodeRemotes configure the embedded NATS server as a leaf; with NATSURL the node uses an external NATS (make that server the leaf instead)")
	}
	if o.SyncAlways {
		return errors.New("node: Sync \"always\" configures the embedded server's JetStream; a site node (LeafNodeRemotes) uses the hub's: set it on the hub's nodes")
	}
	_, err := leafURLs(o.LeafNodeRemotes)
	return err
}

// validateTransport refuses transport-security settings that are
// incomplete or that configure a NATS the node does not use: a setting
// silently ignored would leave a link in the clear that the operator
// believes protected.
func (o *Options) validateTransport() error {
	pairs := []struct {
		a, b   string
		va, vb string
	}{
		{"ClusterTLSCertFile", "ClusterTLSKeyFile", o.ClusterTLSCertFile, o.ClusterTLSKeyFile},
		{"ClusterTLSCertFile", "ClusterTLSCAFile", o.ClusterTLSCertFile, o.ClusterTLSCAFile},
		{"ClusterUser", "ClusterPassword", o.ClusterUser, o.ClusterPassword},
		{"NATSTLSCertFile", "NATSTLSKeyFile", o.NATSTLSCertFile, o.NATSTLSKeyFile},
	}
	for _, p := range pairs {
		if err := together(p.a, p.va, p.b, p.vb); err != nil {
			return err
		}
	}
	clustered := o.ClusterTLSCertFile != "" || o.ClusterUser != ""
	external := o.NATSCredsFile != "" || o.NATSNKeyFile != "" || o.NATSTLSCertFile != "" || o.NATSTLSCAFile != ""
	switch {
	case clustered && o.NATSURL != "":
		return errors.New("node: the cluster TLS and route credentials configure the embedded NATS server's routes; with NATSURL configure the external server instead")
	case clustered && o.ClusterListen == "":
		return errors.New("node: the cluster TLS and route credentials need ClusterListen")
	case external && o.NATSURL == "":
		return errors.New("node: the NATS credentials, NKey and TLS client settings are for an external NATS; set NATSURL")
	case o.NATSCredsFile != "" && o.NATSNKeyFile != "":
		return errors.New("node: NATSCredsFile and NATSNKeyFile are two ways to authenticate; set one")
	}
	return nil
}

// together refuses one of two settings that go together set without the
// other (a and b name them, va and vb are their values).
func together(a, va, b, vb string) error {
	if (va == "") != (vb == "") {
		return fmt.Errorf("node: %s and %s go together; set both or neither", a, b)
	}
	return nil
}
