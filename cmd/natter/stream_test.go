package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// streamInfo asks JetStream, through the NATS client port of p's embedded
// server, for a stream's configuration and cluster state.
func streamInfo(p *proc, stream string) (*jetstream.StreamInfo, error) {
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
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream info of %s via %s: %w", stream, p.name, err)
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
	return streamLeaderOf(t, procs, via, subjects.StreamMessages)
}

// streamLeaderOf is streamLeader of the message stream named stream.
func streamLeaderOf(t testing.TB, procs []*proc, via *proc, stream string) int {
	t.Helper()
	var leader int
	// A leader is elected shortly after the stream is created, and a
	// busy machine may be slow to report it: wait for one.
	checkFor(t, 30*time.Second, func() error {
		info, err := streamInfo(via, stream)
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

// checkNewLeader waits until a node other than lost leads the message
// stream named stream, asking the survivors: the election that losing
// the leader forces.
func checkNewLeader(t testing.TB, procs []*proc, stream string, lost int, within time.Duration) {
	t.Helper()
	checkFor(t, within, func() error {
		var last error
		for i, p := range procs {
			if i == lost {
				continue
			}
			info, err := streamInfo(p, stream)
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

// connectNATS connects to p's embedded NATS client port.
func connectNATS(t testing.TB, p *proc) *nats.Conn {
	t.Helper()
	if p.natsAddr == "" {
		t.Fatalf("%s has no NATS client port", p.name)
	}
	nc, err := nats.Connect("nats://"+p.natsAddr, nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect to the NATS of %s: %v", p.name, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// checkLeaders waits until each of streams has a leader, none of them on
// a node of down, asking through via.
func checkLeaders(t testing.TB, procs []*proc, via *proc, streams []string, down ...int) {
	t.Helper()
	checkFor(t, 30*time.Second, func() error {
		for _, name := range streams {
			info, err := streamInfo(via, name)
			if err != nil {
				return err
			}
			if info.Cluster == nil {
				return fmt.Errorf("%s has no cluster state", name)
			}
			if l := procIndex(procs, info.Cluster.Leader); l < 0 || slices.Contains(down, l) {
				return fmt.Errorf("%s is led by %q", name, info.Cluster.Leader)
			}
		}
		return nil
	})
}

// storeStreams are the stream and the buckets' streams a node uses.
var storeStreams = []string{subjects.StreamMessages, "KV_" + subjects.BucketReads, "KV_" + subjects.BucketUsers, "KV_" + subjects.BucketUserNames,
	"KV_" + subjects.BucketChats, "KV_" + subjects.BucketRoomNames, "KV_" + subjects.BucketMembers}

// storedMessages reads chat's messages from whichever replica answers
// direct gets through nc (docs/cluster.md: any current replica does):
// seq → text. It reads what JetStream stored, not what a node reports.
func storedMessages(t testing.TB, nc *nats.Conn, chat string) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	subject := subjects.ChatMsg(chat)
	for next := uint64(1); len(out) <= 100_000; {
		req := fmt.Sprintf(`{"seq":%d,"next_by_subj":%q}`, next, subject)
		msg, err := nc.Request("$JS.API.DIRECT.GET."+subjects.StreamMessages, []byte(req), 5*time.Second)
		if err != nil {
			t.Fatalf("direct get of %s from seq %d: %v", subject, next, err)
		}
		if st := msg.Header.Get("Status"); st == "404" {
			return out
		} else if st != "" {
			t.Fatalf("direct get of %s from seq %d: status %s %s", subject, next, st, msg.Header.Get("Description"))
		}
		seq, err := strconv.ParseUint(msg.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil || seq < next {
			t.Fatalf("direct get of %s from seq %d answered seq %q", subject, next, msg.Header.Get(jetstream.SequenceHeader))
		}
		var m struct{ Message string }
		if err := json.Unmarshal(msg.Data, &m); err != nil {
			t.Fatalf("stored message %d: %v", seq, err)
		}
		out[seq], next = m.Message, seq+1
	}
	t.Fatalf("more than 100,000 messages stored in %s", chat)
	return nil
}

// awaitLeaderlessReads waits until p's JetStream answers a read of chat's
// record in the chats bucket with "JetStream system temporarily
// unavailable" (10008): the bucket's group knows it has no leader, the
// lasting state of a lost quorum.
func awaitLeaderlessReads(t testing.TB, nc *nats.Conn, chat string) {
	t.Helper()
	bucket := subjects.BucketChats
	req := fmt.Sprintf(`{"last_by_subj":%q}`, "$KV."+bucket+"."+subjects.ChatKey(chat))
	checkFor(t, 60*time.Second, func() error {
		msg, err := nc.Request("$JS.API.STREAM.MSG.GET.KV_"+bucket, []byte(req), 2*time.Second)
		if err != nil {
			return err
		}
		var resp struct {
			Error *struct {
				ErrCode int `json:"err_code"`
			}
		}
		if err := json.Unmarshal(msg.Data, &resp); err != nil {
			return err
		}
		if resp.Error == nil || resp.Error.ErrCode != 10008 {
			return fmt.Errorf("a read of the chats bucket answered %s", msg.Data)
		}
		return nil
	})
}
