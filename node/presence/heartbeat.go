package presence

import (
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/natterchat/natter/subjects"
)

// heartbeat is published on subjects.Heartbeat.
type heartbeat struct {
	Node    string `json:"node"`
	Devices int64  `json:"devices"` // the node's devices, for operators
	// Epoch and Seq are the node's run and the number of its last
	// presence event.
	Epoch int64  `json:"epoch"`
	Seq   uint64 `json:"seq"`
	Gone  bool   `json:"gone,omitempty"` // the node drained and left
}

// Beat publishes this node's heartbeat; gone says goodbye after a drain.
// Once the goodbye is sent, a plain beat sends nothing: the node's loop
// may still tick, and a beat after the goodbye would bring the node back
// into every view, whose next sync would then wait on a node that no
// longer answers.
func (v *View) Beat(gone bool) {
	v.pubMu.Lock()
	defer v.pubMu.Unlock()
	if v.saidGoodbye && !gone {
		return
	}
	v.saidGoodbye = v.saidGoodbye || gone
	if !v.beaten {
		// The others answer this first beat at once: heard from within
		// peerAnswerWait, or not live.
		v.beaten = true
		v.knowsPeers.Store(min(v.knowsPeers.Load(), time.Now().Add(peerAnswerWait).UnixNano()))
	}
	v.publishJSON(subjects.Heartbeat, heartbeat{Node: v.cfg.NodeID, Devices: v.published.Load(), Epoch: v.epoch, Seq: v.seq.Load(), Gone: gone})
}

// HandleHeartbeat notes a node alive and repairs this view of its devices
// when this view missed one of its events (or never heard of it). The
// node calls it from the goroutine that also applies presence events in
// publication order, so a number ahead of the view's is a real miss, not
// a race.
func (v *View) HandleHeartbeat(data []byte) {
	var hb heartbeat
	if err := json.Unmarshal(data, &hb); err != nil || !subjects.ValidID(hb.Node) {
		v.cfg.Limiter.Warn("bad heartbeat")
		return
	}
	if hb.Node == v.cfg.NodeID {
		// This node's own devices reach its view through its own events,
		// in order; a beat may race an event it counted, so no self-sync.
		return
	}
	v.mu.Lock()
	if !v.reviveLocked(hb.Node, hb.Epoch) {
		v.mu.Unlock()
		return // a late beat, or a second goodbye, of a run that left or restarted
	}
	if hb.Gone {
		v.mu.Unlock()
		v.dropNode(hb.Node, hb.Epoch, "drained", time.Now())
		return
	}
	st := v.nodeLocked(hb.Node)
	newRun := st.run != hb.Epoch
	st.lastSeen, st.run = time.Now(), hb.Epoch
	missed := st.gap || !st.known || st.epoch != hb.Epoch || st.seq < hb.Seq
	v.mu.Unlock()
	if newRun {
		// A node that just started (or that this view just heard of)
		// waits for every live node's beat before it trusts its chat
		// snapshots: answer at once rather than at the next tick.
		v.Beat(false)
	}
	if missed {
		v.sync(hb.Node, hb)
	}
}

// Sweep counts nodes silent for NodeDeadAfter at now as dead.
func (v *View) Sweep(now time.Time) {
	var dead []string
	v.mu.Lock()
	for id, st := range v.nodes {
		if id != v.cfg.NodeID && now.Sub(st.lastSeen) > v.cfg.NodeDeadAfter {
			dead = append(dead, id)
		}
	}
	v.mu.Unlock()
	for _, id := range dead {
		v.dropNode(id, 0, "silent", now)
	}
	v.mu.Lock()
	v.pruneGoneLocked(now)
	v.sweepRunsLocked()
	v.mu.Unlock()
	v.forget()
}

// dropNode takes every device of a dead or departed node offline. Guests
// end with their connection, so the guests of a node that died that this
// view knew of are handed to OnOrphans: every survivor ends them for its
// own devices, and the view holds every online member of the chats this
// node delivers. The node's run (epoch, or the last one heard of if 0) is
// remembered as gone at now, so that its late messages are ignored
// (gone.go); the goodbye of a run older than the one held drops nothing.
func (v *View) dropNode(nodeID string, epoch int64, why string, now time.Time) {
	if nodeID == v.cfg.NodeID {
		return
	}
	var changes []event
	var guests []Guest
	v.mu.Lock()
	if epoch != 0 && v.staleLocked(nodeID, epoch) {
		v.mu.Unlock()
		return
	}
	for userID, u := range v.users {
		for _, d := range u.devices {
			if d.Node != nodeID {
				continue
			}
			changes = append(changes, event{User: userID, Name: u.name, Device: d.Device, Node: nodeID})
			if u.guest && !slices.ContainsFunc(guests, func(g Guest) bool { return g.ID == userID }) {
				guests = append(guests, Guest{ID: userID, Name: u.name, Chats: u.chatList()})
			}
		}
	}
	if st := v.nodes[nodeID]; st != nil && epoch == 0 {
		epoch = st.run
	}
	v.noteGoneLocked(nodeID, epoch, why == "drained", now)
	delete(v.nodes, nodeID)
	v.mu.Unlock()
	v.applyAll(changes)
	v.cfg.Log.Info("node left the cluster", slog.String("peer", nodeID), slog.String("why", why), slog.Int("devices", len(changes)))
	if why == "silent" && len(guests) > 0 {
		v.cfg.OnOrphans(guests)
	}
}
