package presence

// A chat's snapshot answer lists a node's devices as of one of its event
// numbers; by the time it is merged, the view may have applied later
// events of that node, and a device one of them took down must not come
// back with the snapshot. The view remembers, per node, the devices its
// latest events took down (a node's "down" events are few next to its
// "up" events in a connection storm), so a snapshot is merged without
// them instead of being dropped for a sync of the whole node.

// recentDown is a device a node's event took down, with the event's
// number.
type recentDown struct {
	device string
	seq    uint64
}

// maxRecentDowns bounds the downs remembered per node; half are dropped
// when it is reached (snapshots older than those are dropped for a sync).
const maxRecentDowns = 1024

// noteDown remembers ev's device if ev takes it down. The caller holds
// View.mu and has counted ev (View.countEvent).
func (st *nodeState) noteDown(ev event) {
	if ev.Up {
		return
	}
	if len(st.downs) == maxRecentDowns {
		half := maxRecentDowns / 2
		st.downsFrom = st.downs[half-1].seq
		st.downs = append(st.downs[:0], st.downs[half:]...)
	}
	st.downs = append(st.downs, recentDown{device: ev.Device, seq: ev.Seq})
}

// resetDowns forgets the downs: the view knows none numbered up to seq.
func (st *nodeState) resetDowns(seq uint64) {
	clear(st.downs)
	st.downs, st.downsFrom = st.downs[:0], seq
}

// downSince reports whether an event numbered above seq took device down.
func (st *nodeState) downSince(device string, seq uint64) bool {
	for i := len(st.downs) - 1; i >= 0 && st.downs[i].seq > seq; i-- {
		if st.downs[i].device == device {
			return true
		}
	}
	return false
}
