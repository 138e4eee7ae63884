package main

import (
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// The guest rooms' presence settings (given as flags, so that the bound
// below is the documented one: a dead node's devices go offline within
// node-dead-after plus one heartbeat interval).
const (
	failHeartbeat = time.Second
	failDeadAfter = 5 * time.Second
	// deadNodeMargin is what the survivors get on top of that to end the
	// dead node's guests and deliver LeftRoom on a busy machine.
	deadNodeMargin = 5 * time.Second
	deadNodeBound  = failDeadAfter + failHeartbeat + deadNodeMargin
	// quorumTimeout is node3's --request-timeout, so that it answers
	// within seconds once storage cannot.
	quorumTimeout = 3 * time.Second
)

// guestArgs are the flags of every node of a guest room's cluster.
func guestArgs(int) []string {
	return []string{"--allow-guests", "--heartbeat-interval", failHeartbeat.String(), "--node-dead-after", failDeadAfter.String()}
}

// TestClusterFailures runs three embedded nodes (R3) with guests allowed
// and loses two of them; node3 survives. The first to die (kill -9) has
// guests in a room with guests of the others: the members left hear
// LeftRoom once for each of its guests within the dead-node bound, and
// member lists drop them. Then the second dies too, which loses the
// JetStream quorum: node3 acknowledges nothing it did not store.
func TestClusterFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	procs := startEmbeddedCluster(t, 3, func(i int) []string {
		if i == 2 {
			return append(guestArgs(i), "--request-timeout", quorumTimeout.String())
		}
		return guestArgs(i)
	})
	first := firstToDie(t, procs)
	g := newGuestRoom(t, procs, first)
	t.Run("guests of a dead node leave", func(t *testing.T) { testDeadNodeGuests(t, g, first) })
	t.Run("quorum loss", func(t *testing.T) { testQuorumLoss(t, g, first, 1-first) })
	t.Run("unavailable", func(t *testing.T) { testUnavailable(t, g) })
}

// firstToDie picks node1 or node2, whichever does not lead the chats
// bucket. The dead node's guests are ended by a survivor that reads
// their chats from that bucket, and while the bucket elects a leader
// such a read fails at once rather than falling back to a replica (the
// bug testUnavailable shows), so the guests would stay.
func firstToDie(t *testing.T, procs []*proc) int {
	t.Helper()
	bucket := "KV_" + subjects.BucketChats
	checkLeaders(t, procs, procs[2], []string{bucket})
	info, err := streamInfo(procs[2], bucket)
	if err != nil {
		t.Fatal(err)
	}
	if procIndex(procs, info.Cluster.Leader) == 0 {
		return 1
	}
	return 0
}

// TestClusterGuestsOfTwoDeadNodes: two of three nodes die at once (a
// rack loses power); the survivor ends the guests of both: its members
// hear LeftRoom once for each, and its member list drops them. The nodes
// share an external NATS, so storage stays up and only presence is at
// stake.
func TestClusterGuestsOfTwoDeadNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	ns := storetest.RunServer(t)
	procs := startSharedNATSCluster(t, 3, ns.ClientURL(), guestArgs)
	g := newGuestRoom(t, procs, 0)
	var killed sync.WaitGroup
	for _, p := range procs[:2] {
		killed.Add(1)
		go func() { defer killed.Done(); p.kill() }()
	}
	killed.Wait()
	g.checkGuestsLeft(t, time.Now(), []int{0, 1}, []int{2})
}

// testDeadNodeGuests kills the first node, where two guests of the room
// are.
func testDeadNodeGuests(t *testing.T, g *guestRoom, first int) {
	g.procs[first].kill()
	g.checkGuestsLeft(t, time.Now(), []int{first}, g.others(first))
}
