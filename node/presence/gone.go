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
// heard: yes unless that run said goodbye. A run dropped as silent is
// forgotten as gone: it is alive after all. The caller holds View.mu.
func (v *View) reviveLocked(nodeID string, epoch int64) bool {
	g, ok := v.gone[nodeID]
	if !ok || g.epoch != epoch {
		return true
	}
	if g.drained {
		return false
	}
	delete(v.gone, nodeID)
	return true
}

// goneLocked reports whether nodeID's run epoch was dropped. The caller
// holds View.mu.
func (v *View) goneLocked(nodeID string, epoch int64) bool {
	g, ok := v.gone[nodeID]
	return ok && g.epoch == epoch
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
