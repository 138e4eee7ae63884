package main

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// lossRoom is the room of a node-loss test: three users with a device
// that connects to each node first, and one dave per node whose only
// device is on that node (the lost node's dave does not come back).
type lossRoom struct {
	procs    []*proc
	owner    account
	chat     string
	devs     []*tdevice // devs[len(procs)*u+i]: user u's device that connects to node i first
	daves    []account  // daves[i] is online on node i only
	daveDevs []*tdevice
}

func newLossRoom(t *testing.T, procs []*proc) *lossRoom {
	addrs := addrsOf(procs)
	r := &lossRoom{procs: procs}
	r.owner = register(t, addrs[0], "kill-owner")
	r.chat = createRoom(t, addrs[0], r.owner, "kill-room")
	for u := range 3 {
		a := register(t, addrs[u%len(addrs)], fmt.Sprintf("kill-user%d", u))
		join(t, addrs[u%len(addrs)], a, r.chat)
		for i, p := range procs {
			r.devs = append(r.devs, newDevice(t, a.Name+"@"+p.name, a, r.chat, rotate(addrs, i)))
		}
	}
	for _, p := range procs {
		dave := register(t, p.addr, "kill-dave-"+p.name)
		join(t, p.addr, dave, r.chat)
		r.daves = append(r.daves, dave)
		r.daveDevs = append(r.daveDevs, newDevice(t, dave.Name+"@"+p.name, dave, r.chat, func() []string { return []string{p.addr} }))
	}
	checkFor(t, 10*time.Second, func() error {
		for _, a := range addrs {
			online, err := r.onlineAt(t, a)
			if err != nil {
				return err
			}
			for _, dave := range r.daves {
				if _, ok := online[dave.ID]; !ok {
					return fmt.Errorf("%s not online at %s yet", dave.Name, a)
				}
			}
		}
		return nil
	})
	return r
}

// onlineAt is the room's presence on one node: each online user's
// devices' nodes. A node that cannot answer (an error status) is
// reported as an error for the caller to retry.
func (r *lossRoom) onlineAt(t testing.TB, addr string) (map[string][]string, error) {
	var p struct {
		Online []struct {
			User    string
			Devices []struct{ Node string }
		}
	}
	if st := api(t, addr, "GET", "/api/chats/"+r.chat+"/presence", r.owner.Token, nil, &p); st != http.StatusOK {
		return nil, fmt.Errorf("presence at %s: %d", addr, st)
	}
	out := map[string][]string{}
	for _, o := range p.Online {
		out[o.User] = []string{}
		for _, d := range o.Devices {
			out[o.User] = append(out[o.User], d.Node)
		}
	}
	return out, nil
}

// clientsOn are the current connections of the room's devices that are
// connected to the node called name.
func (r *lossRoom) clientsOn(name string) []*client.Client {
	var out []*client.Client
	for _, d := range append(slices.Clone(r.devs), r.daveDevs...) {
		if c := d.client(); c.Welcome.Node == name {
			out = append(out, c)
		}
	}
	return out
}

// testNodeLoss: one node goes — kill -9, or a SIGTERM drain when graceful
// — while devices on all nodes send about 1,000 messages. victim picks
// it once the sends are under way (the stream's leader, when the nodes
// hold the stream). Its devices reconnect to the others and resume;
// every device ends with every message, none lost, none twice; presence
// on the survivors shows the node's devices gone within 10 s of a kill
// (at once after a drain); the stored history holds exactly the acked
// messages.
//
// The cluster has k message streams; victim is given the one that holds
// the room's chat.
func testNodeLoss(t *testing.T, procs []*proc, k int, graceful bool, victim func(t *testing.T, stream string) int) {
	r := newLossRoom(t, procs)
	stream := subjects.MessageStream(store.Partition(r.chat, k), k)
	const perDevice = 110
	s := startSenders(t, sendPlan{lanes: len(r.devs), perLane: perDevice, warmup: 30, pause: 60 * time.Millisecond,
		perSend: 60 * time.Second, within: 3 * time.Minute},
		func(i, k int) (*tdevice, string, string) {
			return r.devs[i], fmt.Sprintf("d%d-%d", i, k), fmt.Sprintf("message %d of %s", k, r.devs[i].name)
		})
	s.awaitWarm(t, 2*time.Minute)
	lost := victim(t, stream)
	p := procs[lost]
	r.daveDevs[lost].abandon()
	if graceful {
		drainObservingReadiness(t, p, r.clientsOn(p.name))
	} else {
		p.kill()
	}
	lostAt := time.Now()
	presenceBound := 10 * time.Second
	if graceful {
		presenceBound = 3 * time.Second
	}
	r.checkPresenceAfterLoss(t, lost, presenceBound)
	t.Logf("presence correct %v after %s was lost (graceful=%v)", time.Since(lostAt).Round(100*time.Millisecond), p.name, graceful)
	if !graceful {
		checkNewLeader(t, procs, stream, lost, 30*time.Second)
	}

	acked := s.wait(t)
	if len(acked) != len(r.devs)*perDevice {
		t.Fatalf("%d distinct acked sequences, want %d", len(acked), len(r.devs)*perDevice)
	}
	receivers := slices.Clone(r.devs)
	for i, d := range r.daveDevs {
		if i != lost {
			receivers = append(receivers, d)
		}
	}
	checkAllDelivered(t, receivers, acked, 60*time.Second)
	r.checkReconnects(t, lost)
	// The history, read from a survivor, holds every acked message
	// exactly once with its text: with R3, after losing the stream's
	// leader.
	checkHistory(t, procs[(lost+1)%len(procs)].addr, r.owner.Token, r.chat, acked)
}

// checkPresenceAfterLoss: within bound, nothing on the survivors lists a
// device of the lost node, its dave is offline and the other daves are
// online; a co-member on a survivor heard the lost dave go offline, and
// no other dave.
func (r *lossRoom) checkPresenceAfterLoss(t *testing.T, lost int, bound time.Duration) {
	t.Helper()
	lostName := r.procs[lost].name
	checkFor(t, bound, func() error {
		for i, p := range r.procs {
			if i == lost {
				continue
			}
			online, err := r.onlineAt(t, p.addr)
			if err != nil {
				return err
			}
			for user, nodes := range online {
				if slices.Contains(nodes, lostName) {
					return fmt.Errorf("%s still shows a device of %s on %s", p.name, user, lostName)
				}
			}
			for j, dave := range r.daves {
				if _, ok := online[dave.ID]; ok == (j == lost) {
					return fmt.Errorf("%s shows %s online=%v", p.name, dave.Name, ok)
				}
			}
		}
		return nil
	})
	watcher := r.devs[(lost+1)%len(r.procs)] // user 0's device on a survivor
	checkFor(t, 5*time.Second, func() error {
		if n := watcher.countAbout(wire.TypeOffline, r.daves[lost].ID); n != 1 {
			return fmt.Errorf("%s has %d Offline for %s, want 1", watcher.name, n, r.daves[lost].Name)
		}
		return nil
	})
	for j, dave := range r.daves {
		if n := watcher.countAbout(wire.TypeOffline, dave.ID); j != lost && n != 0 {
			t.Errorf("%s has %d Offline for %s, which stayed online", watcher.name, n, dave.Name)
		}
	}
}

// checkReconnects: the devices of the lost node reconnected elsewhere;
// the others kept their connections.
func (r *lossRoom) checkReconnects(t *testing.T, lost int) {
	t.Helper()
	for i, d := range r.devs {
		n := d.reconnects()
		if onLost := i%len(r.procs) == lost; onLost && n < 1 {
			t.Errorf("%s was on the lost node and did not reconnect", d.name)
		} else if !onLost && n != 0 {
			t.Errorf("%s was on a surviving node and reconnected %d times", d.name, n)
		}
	}
}

// drainObservingReadiness sends p SIGTERM and probes its /readyz until it
// is not ready (503, or no answer once the port is gone). At that moment
// none of onNode, the connections of the devices on p, may have been
// closed yet: a node leaves the load balancer's rotation before its
// devices are told to move. Once p has exited, every one of them must
// have been closed with 1001.
func drainObservingReadiness(t *testing.T, p *proc, onNode []*client.Client) {
	t.Helper()
	if len(onNode) == 0 {
		t.Fatalf("no device is connected to %s", p.name)
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); p.stop() }()
	defer func() { <-stopped }()
	deadline := time.Now().Add(30 * time.Second)
	for probes := 1; ; probes++ {
		if probes > 3000 || time.Now().After(deadline) {
			t.Fatalf("%s still ready after %d probes since SIGTERM", p.name, probes)
		}
		resp, err := probeClient.Get("http://" + p.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("/readyz of a draining node answered %s, want 503", resp.Status)
			}
		}
		for _, c := range onNode {
			select {
			case <-c.Done():
				t.Errorf("a device on %s was closed (code %d) before /readyz said not ready", p.name, c.CloseCode())
			default:
			}
		}
		break
	}
	<-stopped
	for _, c := range onNode {
		select {
		case <-c.Done():
			if code := c.CloseCode(); code != ws.StatusGoingAway {
				t.Errorf("a device on %s was closed with %d, want 1001", p.name, code)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("a device on %s is still connected after it exited", p.name)
		}
	}
}
