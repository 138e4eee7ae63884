package presence

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/subjects"
)

// devicePage is one message of a node's answer to a presence sync; a
// node's list is split so that no message nears NATS's payload limit.
type devicePage struct {
	Devices []event `json:"devices"`
	Last    bool    `json:"last"`
}

// devicePageBytes is the size a page is cut at.
const devicePageBytes = 256 << 10

// Serve subscribes to this node's device-list requests (other nodes'
// syncs) and returns the subscription for the caller to end.
func (v *View) Serve() (*nats.Subscription, error) {
	s, err := v.cfg.NC.Subscribe(subjects.NodeRequest(v.cfg.NodeID, subjects.NodeOpPresence), v.serveDevices)
	if err != nil {
		return nil, fmt.Errorf("presence: subscribe device-list requests: %w", err)
	}
	return s, nil
}

// sync replaces this view's devices of a node with the node's own list.
func (v *View) sync(nodeID string) {
	list, err := v.fetchDevices(nodeID)
	if err != nil {
		v.cfg.Limiter.Warn("presence sync failed", slog.String("peer", nodeID), slog.Any("err", err))
		return
	}
	have := make(map[string]bool, len(list))
	for _, ev := range list {
		have[ev.Device] = true
	}
	var changes []event
	v.mu.Lock()
	for userID, u := range v.users {
		for _, d := range u.devices {
			if d.Node == nodeID && !have[d.Device] {
				changes = append(changes, event{User: userID, Name: u.name, Device: d.Device, Node: nodeID})
			}
		}
	}
	v.mu.Unlock()
	for _, ev := range list {
		if ev.Node == nodeID && subjects.ValidID(ev.User) && subjects.ValidID(ev.Device) {
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

// fetchDevices asks a node for its devices and reads its pages.
func (v *View) fetchDevices(nodeID string) ([]event, error) {
	nc := v.cfg.NC
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("subscribe reply inbox: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.PublishRequest(subjects.NodeRequest(nodeID, subjects.NodeOpPresence), inbox, nil); err != nil {
		return nil, fmt.Errorf("request device list: %w", err)
	}
	var list []event
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			return nil, fmt.Errorf("read device page: %w", err)
		}
		var page devicePage
		if err := json.Unmarshal(m.Data, &page); err != nil {
			return nil, fmt.Errorf("decode device page: %w", err)
		}
		list = append(list, page.Devices...)
		if page.Last {
			return list, nil
		}
	}
}

// serveDevices answers a peer's request for this node's device list, in
// pages of about devicePageBytes.
func (v *View) serveDevices(m *nats.Msg) {
	var page devicePage
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
		if err != nil {
			return
		}
		page.Devices = append(page.Devices, v.event(d, true, chats))
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
