package storetest

import (
	"fmt"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natterchat/natter/internal/natsstart"
	"github.com/natterchat/natter/internal/testport"
)

// clusterStarts is how many times RunCluster chooses ports and starts the
// servers before it gives up.
const clusterStarts = 3

// RunCluster starts n NATS servers with JetStream on 127.0.0.1 that form
// one cluster, each with its store in a fresh t.TempDir(), and shuts them
// down when the test ends. It returns once every server accepts clients
// and one of them leads a JetStream meta group of all n, so that a store
// opened on any of them can create replicated streams at once. Every
// server routes to all (its own route is ignored), as natter's nodes do.
//
// The route ports are chosen before any server starts, since each server
// names all of them (testport says how they are kept clear of other
// tests' connections). Should one be taken all the same before its server
// binds it, the server reports it as fatal and the whole cluster is
// started again on other ports.
func RunCluster(t testing.TB, n int) []*server.Server {
	t.Helper()
	var err error
	for range clusterStarts {
		var srvs []*server.Server
		if srvs, err = startCluster(t, n); err == nil {
			waitClustered(t, srvs)
			return srvs
		}
		t.Logf("storetest: %v; starting the cluster again on other ports", err)
	}
	t.Fatalf("storetest: cluster of %d not started in %d tries: %v", n, clusterStarts, err)
	return nil
}

// startCluster starts n servers routing to each other on freshly chosen
// ports and waits until each accepts clients. On failure it shuts down
// those it started and says which server failed and why.
func startCluster(t testing.TB, n int) ([]*server.Server, error) {
	t.Helper()
	ports := testport.Free(t, n)
	routes := make([]*url.URL, n)
	for i, p := range ports {
		routes[i] = &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)}
	}
	srvs := make([]*server.Server, n)
	logs := make([]*natsstart.Logger, n)
	stopAll := func() {
		for _, s := range srvs {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	}
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("storetest-%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			NoLog:      true,
			NoSigs:     true,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    server.ClusterOpts{Name: "storetest", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
		}
		s, err := server.NewServer(opts)
		if err != nil {
			stopAll()
			return nil, fmt.Errorf("new cluster server %d: %w", i+1, err)
		}
		logs[i] = natsstart.NewLogger(slog.New(slog.DiscardHandler))
		s.SetLoggerV2(logs[i], false, false, false)
		go s.Start()
		t.Cleanup(func() {
			s.Shutdown()
			s.WaitForShutdown()
		})
		srvs[i] = s
	}
	for i, s := range srvs {
		if err := natsstart.Wait(s, logs[i], 30*time.Second); err != nil {
			stopAll()
			return nil, fmt.Errorf("cluster server %d (route port %d): %w", i+1, ports[i], err)
		}
	}
	return srvs, nil
}

// waitClustered waits until one server leads the JetStream meta group
// and counts every server as an online peer with JetStream, and every
// server's meta group is current (the wait of nats-server's own cluster
// tests). Before that, creating a replicated stream fails for want of
// peers: "no suitable peers for placement, peer offline" when a leader
// elected a moment later has not yet heard from every peer.
func waitClustered(t testing.TB, srvs []*server.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !clustered(srvs) {
		if time.Now().After(deadline) {
			t.Fatalf("storetest: JetStream cluster of %d not formed within 30s", len(srvs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clustered reports whether a leader counts all of srvs as online peers
// and every server's meta group is current.
func clustered(srvs []*server.Server) bool {
	led := false
	for _, s := range srvs {
		if s.JetStreamIsLeader() && len(s.JetStreamClusterPeers()) == len(srvs) {
			led = true
		}
	}
	if !led {
		return false
	}
	for _, s := range srvs {
		if !s.JetStreamIsCurrent() {
			return false
		}
	}
	return true
}
