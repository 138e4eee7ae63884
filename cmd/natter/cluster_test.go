package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestClusterEmbedded runs three nodes whose embedded NATS servers form
// one cluster (R3): delivery to devices spread over all nodes, then
// subscriptions following local members, login limits counted across the
// nodes, then a kill -9 of the node that leads the message stream during
// traffic.
func TestClusterEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	procs := startEmbeddedCluster(t, 3, nil)
	t.Run("delivery", func(t *testing.T) { testClusterDelivery(t, procs, "embedded") })
	t.Run("subscriptions", func(t *testing.T) { testSubscriptionsFollowMembers(t, procs) })
	t.Run("login limits", func(t *testing.T) { testClusterLoginLimits(t, procs) })
	t.Run("kill", func(t *testing.T) {
		testNodeLoss(t, procs, 1, false, func(t *testing.T, stream string) int {
			leader := streamLeaderOf(t, procs, procs[0], stream)
			t.Logf("%s leads the message stream: it is the node killed", procs[leader].name)
			return leader
		})
	})
}

// TestClusterThreeStreams: three embedded nodes with the chats spread
// over three message streams, whose leaders are on three different
// nodes; delivery across the nodes, then a kill -9 of the node that
// leads the stream of the room's chat during traffic: per-chat order,
// dedup and resume hold as with one stream.
func TestClusterThreeStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	procs := startEmbeddedCluster(t, 3, func(int) []string { return []string{"--streams", "3"} })
	checkFor(t, 60*time.Second, func() error {
		leaders := map[int]string{}
		for p := range 3 {
			name := subjects.MessageStream(p, 3)
			l := streamLeaderOf(t, procs, procs[0], name)
			if other, ok := leaders[l]; ok {
				return fmt.Errorf("%s leads %s and %s", procs[l].name, other, name)
			}
			leaders[l] = name
		}
		return nil
	})
	t.Run("delivery", func(t *testing.T) { testClusterDelivery(t, procs, "embedded") })
	t.Run("kill", func(t *testing.T) {
		testNodeLoss(t, procs, 3, false, func(t *testing.T, stream string) int {
			leader := streamLeaderOf(t, procs, procs[0], stream)
			t.Logf("%s leads %s, the room's stream: it is the node killed", procs[leader].name, stream)
			return leader
		})
	})
}

// drainVictim is the node TestClusterSharedNATS drains, and drainDelay
// its --drain-delay: the time it stays up, not ready, before it closes
// its devices, so that a probe sees it go first.
const (
	drainVictim = 0
	drainDelay  = 2 * time.Second
)

// TestClusterSharedNATS runs three nodes that share one external NATS
// server.
func TestClusterSharedNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	ns := storetest.RunServer(t)
	procs := startSharedNATSCluster(t, 3, ns.ClientURL(), func(i int) []string {
		if i == drainVictim {
			return []string{"--drain-delay", drainDelay.String()}
		}
		return nil
	})
	t.Run("delivery", func(t *testing.T) { testClusterDelivery(t, procs, "shared") })
	// The stream lives on the external server, so no node leads it and
	// losing a node elects nothing: drain a fixed one.
	t.Run("drain", func(t *testing.T) {
		testNodeLoss(t, procs, 1, true, func(*testing.T, string) int { return drainVictim })
	})
}

func addrsOf(procs []*proc) []string {
	out := make([]string, len(procs))
	for i, p := range procs {
		out[i] = p.addr
	}
	return out
}

// rotate returns addrs starting at i (a device's own node first).
func rotate(addrs []string, i int) func() []string {
	return func() []string {
		out := append([]string(nil), addrs[i%len(addrs):]...)
		return append(out, addrs[:i%len(addrs)]...)
	}
}

// testClusterDelivery: three users with a device on each node; every
// device receives every message of the room exactly once, in seq order,
// with the text it was sent with.
func testClusterDelivery(t *testing.T, procs []*proc, tag string) {
	addrs := addrsOf(procs)
	owner := register(t, addrs[0], "owner-"+tag)
	chat := createRoom(t, addrs[0], owner, "delivery-"+tag)
	var devs []*tdevice
	for u := range 3 {
		a := register(t, addrs[u], fmt.Sprintf("user%d-%s", u, tag))
		join(t, addrs[(u+1)%3], a, chat)
		for n := range 3 {
			devs = append(devs, newDevice(t, fmt.Sprintf("%s@node%d", a.Name, n+1), a, chat, rotate(addrs, n)))
		}
	}
	const perUser = 20
	// Each user sends from each of its devices in turn, within the
	// per-device rate limit.
	s := startSenders(t, sendPlan{lanes: 3, perLane: perUser, pause: 30 * time.Millisecond, perSend: 30 * time.Second, within: 2 * time.Minute},
		func(u, k int) (*tdevice, string, string) {
			return devs[u*3+k%3], fmt.Sprintf("u%d-%d", u, k), fmt.Sprintf("hello %d from user %d", k, u)
		})
	acked := s.wait(t)
	if len(acked) != 3*perUser {
		t.Fatalf("%d distinct acked sequences, want %d", len(acked), 3*perUser)
	}
	checkAllDelivered(t, devs, acked, 30*time.Second)
	checkBroadcasts(t, addrs[0], devs, tag)
}

// checkBroadcasts: broadcasts reach every device on every node once, the
// API's ping and the seed's global chat.
func checkBroadcasts(t *testing.T, addr string, devs []*tdevice, tag string) {
	ping := `{"channel":"ping","message":{"type":"Ping","contents":7}}`
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/broadcast", strings.NewReader(ping))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("broadcast: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("broadcast: %s", resp.Status)
	}
	if err := devs[4].client().Send("chat", "SubmitMessage", "hello cluster "+tag); err != nil {
		t.Fatalf("SubmitMessage: %v", err)
	}
	checkFor(t, 10*time.Second, func() error {
		for _, d := range devs {
			if d.count("Ping") != 1 || d.count("NewMessageReceived") != 1 {
				return fmt.Errorf("%s has %d Ping and %d NewMessageReceived, want 1 each", d.name, d.count("Ping"), d.count("NewMessageReceived"))
			}
		}
		return nil
	})
}

// testSubscriptionsFollowMembers: 100 chats, each with one member whose
// only device is on one node: every node subscribes to exactly the chats
// of its local members, and to none once they leave.
func testSubscriptionsFollowMembers(t *testing.T, procs []*proc) {
	addrs := addrsOf(procs)
	// The previous subtest's devices are gone; their nodes' interest in
	// their chats ends asynchronously.
	before := make([]float64, len(procs))
	checkFor(t, 10*time.Second, func() error {
		for i, a := range addrs {
			if before[i] = stats(t, a)["chatSubscriptions"].(float64); before[i] != 0 {
				return fmt.Errorf("node%d still subscribes to %v chats", i+1, before[i])
			}
		}
		return nil
	})
	owner := register(t, addrs[0], "sub-owner")
	users := make([]account, 3)
	for i := range users {
		users[i] = register(t, addrs[i], fmt.Sprintf("sub-user%d", i))
	}
	want := make([]float64, 3)
	for k := range 100 {
		chat := createRoom(t, addrs[k%3], owner, fmt.Sprintf("sub-room-%d", k))
		join(t, addrs[k%3], users[k%3], chat)
		want[k%3]++
	}
	var devs []*tdevice
	for i, u := range users {
		devs = append(devs, newDevice(t, u.Name, u, "", rotate(addrs, i)))
	}
	checkFor(t, 20*time.Second, func() error {
		for i, a := range addrs {
			if got := stats(t, a)["chatSubscriptions"].(float64) - before[i]; got != want[i] {
				return fmt.Errorf("node%d subscribes to %v chats, want %v", i+1, got, want[i])
			}
		}
		return nil
	})
	for _, d := range devs {
		d.stop()
	}
	checkFor(t, 20*time.Second, func() error {
		for i, a := range addrs {
			if got := stats(t, a)["chatSubscriptions"].(float64) - before[i]; got != 0 {
				return fmt.Errorf("node%d still subscribes to %v chats of departed members", i+1, got)
			}
		}
		return nil
	})
}

// TestClusterStopBound: natter cluster waits for its nodes as long as the
// drain their flags after -- give them, plus stopGrace, and refuses node
// flags a node would refuse before it starts any.
func TestClusterStopBound(t *testing.T) {
	o, err := parseClusterFlags([]string{"-data-dir", t.TempDir(), "--", "--drain-delay", "2s", "--drain-timeout", "5s"})
	if err != nil {
		t.Fatalf("parse cluster flags: %v", err)
	}
	if got, err := o.stopBound("secret-0123456789abcdef"); err != nil || got != 7*time.Second+stopGrace {
		t.Fatalf("stopBound = %v, %v; want %v", got, err, 7*time.Second+stopGrace)
	}
	o.nodeFlags = []string{"--drain-timeout", "0s"}
	if _, err := o.stopBound("secret-0123456789abcdef"); err == nil {
		t.Fatalf("stopBound accepted --drain-timeout 0s, which a node refuses")
	}
}
