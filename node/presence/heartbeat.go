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
	Devices int64  `json:"devices"`
	Gone    bool   `json:"gone,omitempty"` // the node drained and left
}

// Beat publishes this node's heartbeat; gone says goodbye after a drain.
func (v *View) Beat(gone bool) {
	v.pubMu.Lock()
	defer v.pubMu.Unlock()
	v.publishJSON(subjects.Heartbeat, heartbeat{Node: v.cfg.NodeID, Devices: v.published.Load(), Gone: gone})
}

// HandleHeartbeat notes a node alive and repairs this view of its devices
// when the counts disagree. The node calls it from the goroutine that
// also applies presence events in publication order, so a disagreement is
// real, not a race.
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
	if hb.Gone {
		v.dropNode(hb.Node, "drained")
		return
	}
	v.mu.Lock()
	st := v.nodes[hb.Node]
	if st == nil {
		st = &nodeState{id: hb.Node}
		v.nodes[hb.Node] = st
	}
	st.lastSeen = time.Now()
	mismatch := st.devices != hb.Devices
	v.mu.Unlock()
	if mismatch {
		v.sync(hb.Node)
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
		v.dropNode(id, "silent")
	}
}

// dropNode takes every device of a dead or departed node offline. Guests
// end with their connection, so the guests of a node that died are handed
// to OnOrphans by one surviving node (the lowest id alive), to end them
// once.
func (v *View) dropNode(nodeID, why string) {
	if nodeID == v.cfg.NodeID {
		return
	}
	var changes []event
	var guests []Guest
	v.mu.Lock()
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
	delete(v.nodes, nodeID)
	// The lowest id of the nodes still alive ends the guests, so that one
	// node does it. Every survivor sees the same heartbeats, so they all
	// pick the same one; a node that died too, dropped or not yet, is no
	// candidate, or guests of two nodes that die together stay forever.
	cleaner, now := v.cfg.NodeID, time.Now()
	for id, st := range v.nodes {
		if now.Sub(st.lastSeen) <= v.cfg.NodeDeadAfter {
			cleaner = min(cleaner, id)
		}
	}
	v.mu.Unlock()
	v.applyAll(changes)
	v.cfg.Log.Info("node left the cluster", slog.String("peer", nodeID), slog.String("why", why), slog.Int("devices", len(changes)))
	if why == "silent" && cleaner == v.cfg.NodeID && len(guests) > 0 {
		v.cfg.OnOrphans(guests)
	}
}
