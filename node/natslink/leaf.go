package natslink

import (
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
func (o *Options) leafOptions(so *server.Options) error {
	if o.LeafNodeListen != "" {
		host, port, err := splitHostPort("leafnode-listen", o.LeafNodeListen)
		if err != nil {
			return err
		}
		so.LeafNode.Host, so.LeafNode.Port = host, port
	}
	if o.JetStreamDomain != "" && so.JetStream {
		so.JetStreamDomain = o.JetStreamDomain
	}
	if len(o.LeafNodeRemotes) == 0 {
		return nil
	}
	urls, err := leafURLs(o.LeafNodeRemotes)
	if err != nil {
		return err
	}
	// One remote with every hub URL: the leaf connects to one of them and
	// moves to another when it goes away.
	so.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: urls}}
	// The hub's JetStream holds the state; a site server with JetStream
	// of its own would be a separate domain with separate chats.
	so.JetStream = false
	so.StoreDir = ""
	if so.DontListen {
		// nats-server solicits leaf connections only once its client
		// listener is up (as for routes): a random port on loopback.
		so.DontListen = false
		so.Host, so.Port = "127.0.0.1", server.RANDOM_PORT
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
