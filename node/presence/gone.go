package presence

import "time"

// A node dropped from the view (its goodbye, or silence) can still be
// heard of for a moment: a snapshot answer or an event it sent before it
// went, delayed in NATS or in a request's inbox. Applied, such a message
// brought the node's state back with its devices online until the next
// sweep dropped it again, with a second Offline and a second LeftRoom for
// its guests. The view remembers the runs it dropped for a while and
// ignores whatever comes from them; a restarted node has a new run. A run
// that said goodbye is over; one that went silent may have been cut off
// only (a partition, a stall): a heartbeat of it brings it back, and its
// first sync lists its devices again.
//
// A run is the node's start time, so a restarted node's runs grow: a
// message of a run older than the one the view holds of the node comes
// late from a run that is over, and is ignored too. Its goodbye, heard
// after the new run, dropped the node with the new run's devices; its
// events and answers brought the old run's devices back. A dropped run
// stops only its own messages, not older ones: a node whose clock stepped
// back across its restart has a new run that looks older, which is heard
// once the run held is swept as silent (NodeDeadAfter), and not shut out
// for goneKeep.

// goneKeep is how long a dropped run is remembered, far beyond any delay
// of a message sent before the node went; maxGone bounds how many.
const (
	goneKeep = 5 * time.Minute
	maxGone  = 1024
)

// goneRun is a run of a node the view dropped, when, and whether it said
// goodbye.
type goneRun struct {
	epoch   int64
	at      time.Time
	drained bool
}

// noteGoneLocked remembers nodeID's run epoch as dropped at now, after a
// goodbye if drained. The caller holds View.mu.
func (v *View) noteGoneLocked(nodeID string, epoch int64, drained bool, now time.Time) {
	if epoch == 0 {
		return // no run ever heard of: nothing to tell later messages by
	}
	if _, ok := v.gone[nodeID]; !ok && len(v.gone) >= maxGone {
		oldest := ""
		for id, g := range v.gone {
			if oldest == "" || g.at.Before(v.gone[oldest].at) {
				oldest = id
			}
		}
		delete(v.gone, oldest)
	}
	v.gone[nodeID] = goneRun{epoch: epoch, at: now, drained: drained}
}

// reviveLocked reports whether a heartbeat of nodeID's run epoch may be
// heard: yes unless that run said goodbye or is older than the one held
// (staleLocked). A run dropped as silent is forgotten as gone: it is
// alive after all. The caller holds View.mu.
func (v *View) reviveLocked(nodeID string, epoch int64) bool {
	if g, ok := v.gone[nodeID]; ok && g.epoch == epoch && !g.drained {
		delete(v.gone, nodeID)
	}
	return !v.staleLocked(nodeID, epoch)
}

// staleLocked reports whether a message of nodeID's run epoch comes too
// late to be heard: that run was dropped, or the view holds a later run
// of the node. The caller holds View.mu.
func (v *View) staleLocked(nodeID string, epoch int64) bool {
	if g, ok := v.gone[nodeID]; ok && epoch == g.epoch {
		return true
	}
	st := v.nodes[nodeID]
	return st != nil && epoch < st.run
}

// pruneGoneLocked forgets the runs dropped more than goneKeep before now.
// The caller holds View.mu.
func (v *View) pruneGoneLocked(now time.Time) {
	for id, g := range v.gone {
		if now.Sub(g.at) > goneKeep {
			delete(v.gone, id)
		}
	}
}
