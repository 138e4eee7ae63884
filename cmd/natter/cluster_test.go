package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/store/storetest"
)

// TestClusterEmbedded runs three nodes whose embedded NATS servers form
// one cluster (R3): delivery to devices spread over all nodes, then
// subscriptions following local members, then a kill -9 during traffic.
func TestClusterEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	procs := startEmbeddedCluster(t, 3)
	t.Run("delivery", func(t *testing.T) { testClusterDelivery(t, procs, "embedded") })
	t.Run("subscriptions", func(t *testing.T) { testSubscriptionsFollowMembers(t, procs) })
	t.Run("kill", func(t *testing.T) { testNodeLoss(t, procs, false) })
}

// TestClusterSharedNATS runs three nodes that share one external NATS
// server.
func TestClusterSharedNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	ns := storetest.RunServer(t)
	procs := startSharedNATSCluster(t, 3, ns.ClientURL())
	t.Run("delivery", func(t *testing.T) { testClusterDelivery(t, procs, "shared") })
	t.Run("drain", func(t *testing.T) { testNodeLoss(t, procs, true) })
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
// device receives every message of the room exactly once, in seq order.
func testClusterDelivery(t *testing.T, procs []*proc, tag string) {
	addrs := addrsOf(procs)
	owner := register(t, addrs[0], "owner-"+tag)
	chat := createRoom(t, addrs[0], owner, "delivery-"+tag)
	var users []account
	var devs []*tdevice
	for u := range 3 {
		a := register(t, addrs[u], fmt.Sprintf("user%d-%s", u, tag))
		join(t, addrs[(u+1)%3], a, chat)
		users = append(users, a)
		for n := range 3 {
			devs = append(devs, newDevice(t, fmt.Sprintf("%s@node%d", a.Name, n+1), a, chat, rotate(addrs, n)))
		}
	}
	const perUser = 20
	acked := map[uint64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perUser {
				d := devs[u*3+k%3] // send from each of the user's devices in turn
				seq, err := d.send(fmt.Sprintf("u%d-%d", u, k), fmt.Sprintf("hello %d from user %d", k, u), time.Now().Add(30*time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[seq] = true
				mu.Unlock()
				time.Sleep(30 * time.Millisecond) // within the per-device rate limit
			}
		}()
	}
	wg.Wait()
	if len(acked) != 3*perUser {
		t.Fatalf("%d distinct acked sequences, want %d", len(acked), 3*perUser)
	}
	checkAllDelivered(t, devs, acked, 30*time.Second)

	// Broadcasts reach every device on every node: the API's ping and
	// the seed's global chat.
	ping := `{"channel":"ping","message":{"type":"Ping","contents":7}}`
	req, _ := http.NewRequest("POST", "http://"+addrs[0]+"/api/broadcast", strings.NewReader(ping))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("broadcast: %v %v", err, resp)
	}
	resp.Body.Close()
	_ = devs[4].client().Send("chat", "SubmitMessage", "hello cluster "+tag)
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

// testNodeLoss: one node goes — kill -9, or a SIGTERM drain when graceful
// — while devices on all nodes send about 1,000 messages: its devices
// reconnect to the others and resume; every device ends with every
// message, none lost, none twice; presence on the survivors shows the
// node's devices gone within 10 s of a kill (at once after a drain); the
// stored history holds every message once (with R3, after losing a
// JetStream peer).
func testNodeLoss(t *testing.T, procs []*proc, graceful bool) {
	addrs := addrsOf(procs)
	owner := register(t, addrs[0], "kill-owner")
	chat := createRoom(t, addrs[0], owner, "kill-room")
	var devs []*tdevice
	for u := range 3 {
		a := register(t, addrs[u], fmt.Sprintf("kill-user%d", u))
		join(t, addrs[u], a, chat)
		for n := range 3 {
			devs = append(devs, newDevice(t, fmt.Sprintf("%s@node%d", a.Name, n+1), a, chat, rotate(addrs, n)))
		}
	}
	// dave's only device is on the node that dies, and does not come back.
	dave := register(t, addrs[0], "kill-dave")
	join(t, addrs[0], dave, chat)
	daveDev := newDevice(t, "dave@node3", dave, chat, func() []string { return addrs[2:3] })
	watcher := devs[0] // on node1, sees dave's Offline
	checkFor(t, 10*time.Second, func() error {
		var p struct{ Online []struct{ User string } }
		api(t, addrs[0], "GET", "/api/chats/"+chat+"/presence", owner.Token, nil, &p)
		for _, o := range p.Online {
			if o.User == dave.ID {
				return nil
			}
		}
		return fmt.Errorf("dave not online yet")
	})
	// owner is a member too (creator); make it one so presence reads work.
	const perDevice = 110
	acked := map[uint64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var sent sync.WaitGroup
	sent.Add(len(devs) * 30)
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range perDevice {
				seq, err := d.send(fmt.Sprintf("d%d-%d", i, k), fmt.Sprintf("message %d of %s", k, d.name), time.Now().Add(60*time.Second))
				if k < 30 {
					sent.Done()
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked[seq] = true
				mu.Unlock()
				time.Sleep(60 * time.Millisecond)
			}
		}()
	}
	sent.Wait()
	daveDev.abandon()
	killedAt := time.Now()
	presenceBound := 10 * time.Second
	if graceful {
		presenceBound = 3 * time.Second
		stopped := make(chan struct{})
		go func() { defer close(stopped); procs[2].stop() }()
		// Not ready within a second of SIGTERM (503, or already gone).
		checkFor(t, time.Second, func() error {
			resp, err := http.Get("http://" + addrs[2] + "/readyz")
			if err != nil {
				return nil
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return fmt.Errorf("still ready")
			}
			return nil
		})
		<-stopped
	} else {
		procs[2].kill()
	}
	survivors := addrs[:2]

	// Presence: within the bound nothing on the survivors lists a device
	// of the lost node, and co-members heard dave go offline.
	checkFor(t, presenceBound, func() error {
		for _, a := range survivors {
			var p struct {
				Online []struct {
					User    string
					Devices []struct{ Node string }
				}
			}
			if st := api(t, a, "GET", "/api/chats/"+chat+"/presence", owner.Token, nil, &p); st != http.StatusOK {
				return fmt.Errorf("presence: %d", st)
			}
			for _, o := range p.Online {
				if o.User == dave.ID {
					return fmt.Errorf("%s still shows dave online", a)
				}
				for _, d := range o.Devices {
					if d.Node == "node3" {
						return fmt.Errorf("%s still shows a device on the dead node", a)
					}
				}
			}
		}
		return nil
	})
	t.Logf("presence correct %v after the node was lost (graceful=%v)", time.Since(killedAt).Round(100*time.Millisecond), graceful)
	checkFor(t, 5*time.Second, func() error {
		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		for _, f := range watcher.frames {
			if f.Type() == "Offline" && string(f.Raw) != "" && containsUser(f, dave.ID) {
				return nil
			}
		}
		return fmt.Errorf("no Offline for dave")
	})

	wg.Wait()
	if len(acked) != len(devs)*perDevice {
		t.Fatalf("%d distinct acked sequences, want %d", len(acked), len(devs)*perDevice)
	}
	checkAllDelivered(t, devs, acked, 60*time.Second)
	reconnected := 0
	for _, d := range devs {
		d.mu.Lock()
		reconnected += d.reconnect
		d.mu.Unlock()
	}
	if reconnected < 3 {
		t.Errorf("%d devices reconnected, want the dead node's 3", reconnected)
	}
	// The stream survived with two of three replicas: history holds every
	// acked message exactly once.
	var hist struct{ Messages []struct{ Seq uint64 } }
	seen := map[uint64]bool{}
	var after uint64
	for {
		api(t, survivors[0], "GET", fmt.Sprintf("/api/chats/%s/messages?after=%d&limit=1000", chat, after), owner.Token, nil, &hist)
		if len(hist.Messages) == 0 {
			break
		}
		for _, m := range hist.Messages {
			if seen[m.Seq] {
				t.Fatalf("history repeats seq %d", m.Seq)
			}
			seen[m.Seq] = true
			after = m.Seq
		}
	}
	if len(seen) != len(acked) {
		t.Fatalf("history holds %d messages, %d were acked", len(seen), len(acked))
	}
}

func containsUser(f interface{ Decode(any) error }, user string) bool {
	var p struct{ User string }
	return f.Decode(&p) == nil && p.User == user
}
