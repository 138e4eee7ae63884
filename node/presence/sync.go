package presence

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/internal/inbox"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/subjects"
)

// syncRequest asks a node for its devices of users in Chats, or for all
// of its devices (a list of chats too long for one message).
type syncRequest struct {
	Chats []string `json:"chats,omitempty"`
	All   bool     `json:"all,omitempty"`
}

// maxSyncChatBytes bounds the chat list of a sync request, well under
// NATS's default payload limit; past it the request asks for every
// device and the view keeps those of interest.
const maxSyncChatBytes = 512 << 10

// devicePage is one message of a node's answer to a presence sync; a
// node's list is split so that no message nears NATS's payload limit.
// Every page carries the node's run and the number of its last presence
// event when the listing began.
type devicePage struct {
	Devices []event `json:"devices"`
	Epoch   int64   `json:"epoch"`
	Seq     uint64  `json:"seq"`
	Last    bool    `json:"last"`
}

// devicePageBytes is the size a page is cut at.
const devicePageBytes = 256 << 10

// syncWait bounds how long a sync waits for a node's pages.
const syncWait = 5 * time.Second

// Serve subscribes to this node's device-list requests (other nodes'
// syncs) and to chat snapshot requests, and returns the subscriptions
// for the caller to end.
func (v *View) Serve() ([]*nats.Subscription, error) {
	s, err := v.cfg.NC.Subscribe(subjects.NodeRequest(v.cfg.NodeID, subjects.NodeOpPresence), v.serveDevices)
	if err != nil {
		return nil, fmt.Errorf("presence: subscribe device-list requests: %w", err)
	}
	c, err := v.cfg.NC.Subscribe(subjects.PresenceSnapshotWildcard, v.serveSnapshot)
	if err != nil {
		_ = s.Unsubscribe()
		return nil, fmt.Errorf("presence: subscribe snapshot requests: %w", err)
	}
	return []*nats.Subscription{s, c}, nil
}

// sync replaces this view's devices of a node with the node's own list of
// its devices in the chats delivered here, and takes the list's number as
// the last event applied from that node. A node that delivers no chat
// needs nothing of the other: it takes the number of its heartbeat hb.
func (v *View) sync(nodeID string, hb heartbeat) {
	chats := v.cfg.Hub.ChatIDs(nil)
	var list []event
	epoch, seq := hb.Epoch, hb.Seq
	var asked map[string]bool // nil: every device of the node
	if len(chats) > 0 {
		var all bool
		var err error
		list, epoch, seq, all, err = v.fetchDevices(nodeID, chats)
		if err != nil {
			v.cfg.Limiter.Warn("presence sync failed", slog.String("peer", nodeID), slog.Any("err", err))
			return
		}
		if !all {
			asked = make(map[string]bool, len(chats))
			for _, c := range chats {
				asked[c] = true
			}
		}
	}
	v.applySync(nodeID, asked, list, epoch, seq)
}

// applySync replaces this view's devices of nodeID in the chats asked
// (nil: all) with list, the node's answer numbered seq in its run epoch.
// Only devices of users sharing a chat asked for are taken down: a chat
// that started while the answer came had its members merged by its
// snapshot, and the answer, listed for the chats asked, does not show
// them.
func (v *View) applySync(nodeID string, asked map[string]bool, list []event, epoch int64, seq uint64) {
	have := make(map[string]bool, len(list))
	for _, ev := range list {
		have[ev.Device] = true
	}
	var changes []event
	v.mu.Lock()
	if v.staleLocked(nodeID, epoch) {
		v.mu.Unlock()
		return // the node went or restarted while its list came
	}
	for userID, u := range v.users {
		if asked != nil && !anyIn(u.chats, asked) {
			continue
		}
		for _, d := range u.devices {
			if d.Node == nodeID && !have[d.Device] {
				changes = append(changes, event{User: userID, Name: u.name, Device: d.Device, Node: nodeID})
			}
		}
	}
	st := v.nodeLocked(nodeID)
	st.epoch, st.seq, st.known, st.gap, st.run = epoch, seq, true, false, epoch
	st.resetDowns(seq)
	v.mu.Unlock()
	for _, ev := range list {
		if ev.Node == nodeID && subjects.ValidID(ev.User) && subjects.ValidID(ev.Device) && v.interested(ev.Chats) {
			ev.Up = true
			// The view keeps a synced device's strings as long as it is
			// online, like an event's: chats with local members take the
			// node's copies instead of the page decoder's.
			v.share(&ev)
			changes = append(changes, ev)
		}
	}
	v.applyAll(changes)
	v.cfg.Log.Debug("presence synced", slog.String("peer", nodeID), slog.Int("devices", len(list)))
}

// fetchDevices asks a node for its devices in chats and reads its pages;
// all says it asked for every device instead (too many chats to list).
func (v *View) fetchDevices(nodeID string, chats []string) (list []event, epoch int64, seq uint64, all bool, err error) {
	req, err := json.Marshal(syncRequest{Chats: chats})
	if err == nil && len(req) > maxSyncChatBytes {
		all = true
		req, err = json.Marshal(syncRequest{All: true})
	}
	if err != nil {
		return nil, 0, 0, false, fmt.Errorf("encode sync request: %w", err)
	}
	r, err := inbox.Open(v.cfg.NC, syncPages)
	if err != nil {
		return nil, 0, 0, false, err
	}
	defer r.Close()
	if err := v.cfg.NC.PublishRequest(subjects.NodeRequest(nodeID, subjects.NodeOpPresence), r.Subject(), req); err != nil {
		return nil, 0, 0, false, fmt.Errorf("request device list: %w", err)
	}
	ctx, cancel := context.WithTimeout(v.stopCtx, syncWait)
	defer cancel()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			return nil, 0, 0, false, fmt.Errorf("read device page: %w", err)
		}
		var page devicePage
		if err := json.Unmarshal(m.Data, &page); err != nil {
			return nil, 0, 0, false, fmt.Errorf("decode device page: %w", err)
		}
		list = append(list, page.Devices...)
		if page.Last {
			return list, page.Epoch, page.Seq, all, nil
		}
	}
}

// serveDevices answers a peer's request for this node's devices in the
// chats it names (or all of them), in pages of about devicePageBytes.
func (v *View) serveDevices(m *nats.Msg) {
	var req syncRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || m.Reply == "" {
		v.cfg.Limiter.Warn("bad presence sync request", slog.Any("err", err))
		return
	}
	var want map[string]bool
	if !req.All {
		want = make(map[string]bool, len(req.Chats))
		for _, c := range req.Chats {
			want[c] = true
		}
	}
	// The number is read before the listing: an event numbered after it
	// that the listing already shows is applied again harmlessly, and one
	// the listing missed arrives after the answer.
	page := devicePage{Epoch: v.epoch, Seq: v.lastSeq()}
	size := 0
	flush := func(last bool) error {
		page.Last = last
		b, err := json.Marshal(page)
		if err != nil {
			return err
		}
		page.Devices, size = page.Devices[:0], 0
		return v.cfg.NC.Publish(m.Reply, b)
	}
	var err error
	v.cfg.Hub.RangeDevices(func(d *fanout.Device, chats []string) {
		if err != nil || (want != nil && !anyIn(chats, want)) {
			return
		}
		page.Devices = append(page.Devices, v.event(d, true, chats, v.connectedAt(d.User().ID(), d.ID())))
		size += 150 + 40*len(chats)
		if size >= devicePageBytes {
			err = flush(false)
		}
	})
	if err == nil {
		err = flush(true)
	}
	if err != nil {
		v.cfg.Limiter.Warn("answer presence sync", slog.Any("err", err))
	}
}

// lastSeq is the number of this node's last published presence event.
func (v *View) lastSeq() uint64 {
	v.pubMu.Lock()
	defer v.pubMu.Unlock()
	return v.seq.Load()
}

func anyIn(chats []string, want map[string]bool) bool {
	for _, c := range chats {
		if want[c] {
			return true
		}
	}
	return false
}
