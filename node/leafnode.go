package node

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// leafOptions adds leaf node settings to the embedded server's options.
//
// A hub's nodes (LeafNodeListen) accept leaf connections from the
// embedded servers of a site's nodes. A site node (LeafNodeRemotes) runs
// its embedded server as a leaf of the hub without JetStream of its own:
// its JetStream requests, chat subjects and heartbeats cross the leaf
// connection, so users, chats and messages live once, in the hub, and a
// chat's members may sit on both sides. Fan-out to a site's devices
// stays in the site: each message crosses the leaf connection once per
// site node that delivers its chat, not once per device.
func (n *Node) leafOptions(o *server.Options) error {
	if n.cfg.LeafNodeListen != "" {
		host, port, err := splitHostPort("leafnode-listen", n.cfg.LeafNodeListen)
		if err != nil {
			return err
		}
		o.LeafNode.Host, o.LeafNode.Port = host, port
	}
	if n.cfg.JetStreamDomain != "" && o.JetStream {
		o.JetStreamDomain = n.cfg.JetStreamDomain
	}
	if len(n.cfg.LeafNodeRemotes) == 0 {
		return nil
	}
	urls, err := leafURLs(n.cfg.LeafNodeRemotes)
	if err != nil {
		return err
	}
	// One remote with every hub URL: the leaf connects to one of them and
	// moves to another when it goes away.
	o.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: urls}}
	// The hub's JetStream holds the state; a site server with JetStream
	// of its own would be a separate domain with separate chats.
	o.JetStream = false
	o.StoreDir = ""
	if o.DontListen {
		// nats-server solicits leaf connections only once its client
		// listener is up (as for routes): a random port on loopback.
		o.DontListen = false
		o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
	}
	return nil
}

// leafURLs parses the hub URLs a site node connects to.
func leafURLs(remotes []string) ([]*url.URL, error) {
	var urls []*url.URL
	for _, r := range remotes {
		u, err := url.Parse(strings.TrimSpace(r))
		if err != nil || u.Host == "" || (u.Scheme != "nats-leaf" && u.Scheme != "nats" && u.Scheme != "tls") {
			return nil, fmt.Errorf("node: leaf node remote %q is not a URL like nats-leaf://hub:7422", r)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// validateLeaf refuses leaf settings that cannot work together.
func (c *Config) validateLeaf() error {
	if c.LeafNodeListen != "" && c.JetStreamDomain == "" {
		// A site reaches the hub's JetStream by its domain name.
		return errors.New("node: a hub node (LeafNodeListen) names its JetStream domain (JetStreamDomain), the same on every hub node")
	}
	if len(c.LeafNodeRemotes) == 0 {
		return nil
	}
	if c.JetStreamDomain == "" {
		return errors.New("node: a site node (LeafNodeRemotes) names the hub's JetStream domain (JetStreamDomain)")
	}
	if c.NATSURL != "" {
		return errors.New("node: LeafNodeRemotes configure the embedded NATS server as a leaf; with NATSURL the node uses an external NATS (make that server the leaf instead)")
	}
	if c.Sync == SyncAlways {
		return errors.New("node: Sync \"always\" configures the embedded server's JetStream; a site node (LeafNodeRemotes) uses the hub's: set it on the hub's nodes")
	}
	_, err := leafURLs(c.LeafNodeRemotes)
	return err
}
