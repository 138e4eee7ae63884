package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// streamInfo asks JetStream, through the NATS client port of p's embedded
// server, for the message stream's configuration and cluster state.
func streamInfo(p *proc) (*jetstream.StreamInfo, error) {
	if p.natsAddr == "" {
		return nil, fmt.Errorf("%s has no NATS client port", p.name)
	}
	nc, err := nats.Connect("nats://"+p.natsAddr, nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, subjects.StreamMessages)
	if err != nil {
		return nil, fmt.Errorf("stream info of %s via %s: %w", subjects.StreamMessages, p.name, err)
	}
	return s.CachedInfo(), nil
}

// serverName is the name of a node's embedded NATS server (docs/cluster.md).
func serverName(p *proc) string { return "natter-" + p.name }

// procIndex is the index in procs of the node whose embedded server is
// called server, or -1.
func procIndex(procs []*proc, server string) int {
	return slices.IndexFunc(procs, func(p *proc) bool { return serverName(p) == server })
}

// streamLeader requires the message stream to be R3 with one replica on
// each of the three nodes, asking through via, and returns the index of
// the node whose embedded server leads it.
func streamLeader(t testing.TB, procs []*proc, via *proc) int {
	t.Helper()
	var leader int
	// A leader is elected shortly after the stream is created, and a
	// busy machine may be slow to report it: wait for one.
	checkFor(t, 30*time.Second, func() error {
		info, err := streamInfo(via)
		if err != nil {
			return err
		}
		if info.Config.Replicas != 3 || info.Cluster == nil {
			return fmt.Errorf("stream has %d replicas (cluster %+v), want 3", info.Config.Replicas, info.Cluster)
		}
		if leader = procIndex(procs, info.Cluster.Leader); leader < 0 {
			return fmt.Errorf("stream leader %q is no node of the cluster", info.Cluster.Leader)
		}
		peers := map[int]bool{leader: true}
		for _, r := range info.Cluster.Replicas {
			peers[procIndex(procs, r.Name)] = true
		}
		if len(peers) != 3 || peers[-1] || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("stream replicas %v besides leader %s, want the two other nodes", peerNames(info), info.Cluster.Leader)
		}
		return nil
	})
	return leader
}

// checkNewLeader waits until a node other than lost leads the stream,
// asking the survivors: the election that losing the leader forces.
func checkNewLeader(t testing.TB, procs []*proc, lost int, within time.Duration) {
	t.Helper()
	checkFor(t, within, func() error {
		var last error
		for i, p := range procs {
			if i == lost {
				continue
			}
			info, err := streamInfo(p)
			if err != nil {
				last = err
				continue
			}
			if info.Cluster == nil {
				return fmt.Errorf("stream info via %s has no cluster state", p.name)
			}
			switch l := procIndex(procs, info.Cluster.Leader); {
			case l < 0:
				return fmt.Errorf("no stream leader yet (%q)", info.Cluster.Leader)
			case l == lost:
				return fmt.Errorf("%s still counts as the stream leader", serverName(procs[lost]))
			}
			return nil
		}
		return last
	})
}

func peerNames(info *jetstream.StreamInfo) []string {
	var out []string
	for _, r := range info.Cluster.Replicas {
		out = append(out, r.Name)
	}
	return out
}
