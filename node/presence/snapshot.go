package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/internal/inbox"
	"github.com/natterchat/natter/subjects"
)

// snapshotWait bounds how long a chat snapshot waits for the nodes'
// answers; every live node answers, so it ends sooner unless one is gone.
const snapshotWait = 2 * time.Second

// snapshot is one page of a node's answer to a chat snapshot: its online
// devices of the chat's members, with its run and the number of its last
// presence event when it began to list them. A chat with thousands of
// online members on one node would not fit one NATS message, so the
// answer is cut like a sync's (devicePageBytes); More says another page
// follows (omitted on the last, so that a one-message answer of a node
// that does not page reads as complete).
type snapshot struct {
	Node    string  `json:"node"`
	Epoch   int64   `json:"epoch"`
	Seq     uint64  `json:"seq"`
	Devices []event `json:"devices"`
	More    bool    `json:"more,omitempty"`
}

// snapshotPages is the room for pages of the nodes' answers to a snapshot
// beyond one per node: a node's answer past it is cut short, and that
// node synced at its next heartbeat.
const snapshotPages = 64

// pendingSnapshot is a chat's snapshot in flight: done closes when it is
// merged; again (guarded by View.mu) asks for another one after it.
type pendingSnapshot struct {
	done  chan struct{}
	again bool
}

// ChatStarted asks every node for its online devices in chatID, which this
// node just started to deliver, and adds them to the view without telling
// anyone (they were online before). It returns at once; the answers are
// merged in the background (Close waits for them). fanout calls it
// (fanout.Config.OnChatStart).
//
// If a snapshot of the chat is in flight, delivery stopped and started
// again meanwhile: members merged before the stop may have been
// forgotten, or answers taken down, in between, so the chat's snapshot is
// taken once more after the one in flight, if the chat is still delivered
// then.
//
// A node that knows no other live node takes no snapshot (aloneLocked).
func (v *View) ChatStarted(chatID string) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	if p := v.pending[chatID]; p != nil {
		p.again = true
		v.mu.Unlock()
		return
	}
	if v.aloneLocked() {
		v.mu.Unlock()
		return
	}
	p := &pendingSnapshot{done: make(chan struct{})}
	v.pending[chatID] = p
	v.snapshots.Add(1) // under mu, so that Close's Wait never races it
	v.mu.Unlock()
	go func() {
		defer v.snapshots.Done()
		for {
			v.takeSnapshot(chatID)
			v.mu.Lock()
			if !p.again || v.closed || !v.cfg.Hub.Delivers(chatID) {
				break
			}
			p.again = false
			v.mu.Unlock()
		}
		delete(v.pending, chatID)
		v.mu.Unlock()
		close(p.done)
	}()
}

// aloneLocked reports whether this view has heard every live node's beat
// (peersKnown) and none is live: a chat's snapshot would be answered by
// this node alone, whose answer is not merged. A node heard of later is
// synced at its first heartbeat (HandleHeartbeat: its numbering is not
// known), which lists its devices in every chat delivered here. A node
// the view still holds that is silent past NodeDeadAfter but not swept
// yet is marked for the same sync, in case it was only cut off and beats
// again. The caller holds View.mu.
func (v *View) aloneLocked() bool {
	if time.Now().Before(v.peersKnown()) || len(v.liveNodesLocked()) > 0 {
		return false
	}
	for id, st := range v.nodes {
		if id != v.cfg.NodeID {
			st.gap = true
		}
	}
	return true
}

// takeSnapshot requests chatID's snapshot and merges the answers of the
// other nodes. A live node whose answer did not come (lost, too slow, or
// the request failed) is marked for a sync at its next heartbeat, which
// lists its devices in every chat delivered here, this one included.
func (v *View) takeSnapshot(chatID string) {
	heard, err := v.gather(v.stopCtx, chatID, func(s snapshot) {
		if s.Node != v.cfg.NodeID {
			v.merge(s)
		}
	})
	if err != nil {
		v.cfg.Limiter.Warn("presence snapshot", slog.String("chat", chatID), slog.Any("err", err))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range v.liveNodesLocked() {
		if !heard[id] {
			v.nodes[id].gap = true
		}
	}
}

// gather asks every node for its devices in chatID and passes each page
// of the answers to f, this node's own included, until every live node
// answered (more may be heard of while waiting) or snapshotWait or ctx
// ends, and returns the nodes whose answer came whole (to its last page).
// Until peersKnown a node may not have heard of all the others yet, so
// it waits that long at least.
func (v *View) gather(ctx context.Context, chatID string, f func(snapshot)) (heard map[string]bool, err error) {
	heard = make(map[string]bool)
	r, err := inbox.Open(v.cfg.NC, max(minSnapshotAnswers, 2*(len(v.liveNodes())+1))+snapshotPages)
	if err != nil {
		return heard, err
	}
	defer r.Close()
	if err := v.cfg.NC.PublishRequest(subjects.PresenceSnapshot(chatID), r.Subject(), nil); err != nil {
		return heard, fmt.Errorf("request the chat's presence: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, snapshotWait)
	defer cancel()
	for {
		wait, stop := ctx, context.CancelFunc(func() {})
		if v.heardAll(heard) {
			known := v.peersKnown()
			if time.Now().After(known) {
				return heard, nil
			}
			wait, stop = context.WithDeadline(ctx, known)
		}
		m, err := r.Next(wait)
		stop()
		if err != nil {
			// A node that died is swept; what came is the answer.
			return heard, nil
		}
		var s snapshot
		if err := json.Unmarshal(m.Data, &s); err != nil || !subjects.ValidID(s.Node) || heard[s.Node] {
			v.cfg.Limiter.Warn("presence snapshot: bad answer", slog.String("chat", chatID))
			continue
		}
		heard[s.Node] = !s.More
		f(s)
	}
}

// heardAll reports whether this node and every live node are in heard.
func (v *View) heardAll(heard map[string]bool) bool {
	if !heard[v.cfg.NodeID] {
		return false
	}
	for _, id := range v.liveNodes() {
		if !heard[id] {
			return false
		}
	}
	return true
}

// liveNodes lists the other nodes this view heard from within
// NodeDeadAfter.
func (v *View) liveNodes() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.liveNodesLocked()
}

func (v *View) liveNodesLocked() []string {
	var ids []string
	now := time.Now()
	for id, st := range v.nodes {
		if id != v.cfg.NodeID && now.Sub(st.lastSeen) <= v.cfg.NodeDeadAfter {
			ids = append(ids, id)
		}
	}
	return ids
}

// merge adds a node's snapshot to the view. A snapshot older than an
// event this view already applied from that node could bring back a
// device that event took down: such devices are left out (downs.go), and
// if the view no longer knows every down since the snapshot's number (too
// many, or events missed), the node is synced at its next heartbeat
// instead. Events of a connection storm are mostly "up": without the
// downs, nearly every snapshot taken during one sent the view to sync.
// An answer of a run the view dropped, or of one older than the run it
// holds, is ignored (gone.go); one of a later run than the view knows (a
// restart) is dropped for a sync. An answer of a node the view has not
// synced yet is merged whole: its first heartbeat syncs it anyway.
func (v *View) merge(s snapshot) {
	changes := make([]event, 0, len(s.Devices))
	for _, ev := range s.Devices {
		if ev.Node == s.Node && subjects.ValidID(ev.User) && subjects.ValidID(ev.Device) && v.interested(ev.Chats) {
			ev.Up = true
			v.share(&ev)
			changes = append(changes, ev)
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.staleLocked(s.Node, s.Epoch) {
		return
	}
	st := v.nodes[s.Node]
	if st != nil && st.known && st.epoch != s.Epoch {
		st.gap = true
		return
	}
	if st != nil && st.known && st.seq > s.Seq {
		if st.gap || s.Seq < st.downsFrom {
			st.gap = true
			return
		}
		changes = slices.DeleteFunc(changes, func(ev event) bool { return st.downSince(ev.Device, s.Seq) })
	}
	for _, ev := range changes {
		v.applyLocked(ev) // no transitions to tell: these users were online
		// The chats were checked before the lock, off the events
		// goroutine: a chat may have stopped being delivered, and its
		// sweep run, since. The next sweep looks at these users again.
		v.markUnsureLocked(ev.User)
	}
	if st := v.nodes[s.Node]; st != nil && st.run == 0 {
		st.run = s.Epoch
	}
}

// serveSnapshot answers a chat snapshot request with this node's online
// devices of the chat's members, in pages of about devicePageBytes; a
// node without any answers too, so that the asker need not wait for it.
func (v *View) serveSnapshot(m *nats.Msg) {
	chatID, ok := strings.CutPrefix(m.Subject, subjects.PresenceSnapshotPrefix)
	if !ok || !subjects.ValidID(chatID) || m.Reply == "" {
		v.cfg.Limiter.Warn("bad presence snapshot request", slog.String("subject", m.Subject))
		return
	}
	s := snapshot{Node: v.cfg.NodeID, Epoch: v.epoch, Seq: v.lastSeq(), Devices: []event{}}
	size := 0
	flush := func(more bool) error {
		s.More = more
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode snapshot page: %w", err)
		}
		s.Devices, size = s.Devices[:0], 0
		if err := v.cfg.NC.Publish(m.Reply, b); err != nil {
			return fmt.Errorf("send snapshot page: %w", err)
		}
		return nil
	}
	var err error
	for _, u := range v.cfg.Hub.ChatUsers(chatID, nil) {
		chats := u.ChatIDs()
		for _, d := range u.Devices(nil) {
			at := v.connectedAt(u.ID(), d.ID())
			d.IfPresent(func() {
				s.Devices = append(s.Devices, v.event(d, true, chats, at))
				size += 150 + 40*len(chats)
			})
			if err == nil && size >= devicePageBytes {
				err = flush(true)
			}
		}
	}
	if err == nil {
		err = flush(false)
	}
	if err != nil {
		v.cfg.Limiter.Warn("answer presence snapshot", slog.String("chat", chatID), slog.Any("err", err))
	}
}
