package presence

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// TestBeatCountsEventsBeforeIt: while devices are announced from many
// goroutines and the node beats, every heartbeat carries exactly the
// number of devices whose "up" events were published before it on the
// same connection. A peer that applied those events then agrees with the
// beat and does not fetch the node's device list; a count ahead of its
// events sent every peer to sync during connection storms.
func TestBeatCountsEventsBeforeIt(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	watcher := storetest.Connect(t, srv)

	// One channel for both subjects, as the node reads them: NATS keeps
	// one publisher's order.
	msgs := make(chan *nats.Msg, 1<<16) // room for every event and beat: a full channel drops
	for _, subj := range []string{subjects.Presence, subjects.Heartbeat} {
		sub, err := watcher.ChanSubscribe(subj, msgs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}

	const announcers, perAnnouncer, maxBeats = 8, 200, 20000
	var wg sync.WaitGroup
	for a := range announcers {
		wg.Go(func() {
			for i := range perAnnouncer {
				d := new(fanout.Device)
				d.Init(fmt.Sprintf("d%d-%d", a, i))
				if _, _, _, ok := hub.AddDevice(d, fmt.Sprintf("u%d-%d", a, i), "user", false, 1); !ok {
					t.Error("device not added")
					return
				}
				v.Announce(d, true, nil)
			}
		})
	}
	stop := make(chan struct{})
	beaten := make(chan struct{})
	go func() {
		defer close(beaten)
		for range maxBeats {
			select {
			case <-stop:
				return
			default:
				v.Beat(false)
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-beaten
	v.Beat(false) // the last beat counts every device
	if err := v.cfg.NC.Flush(); err != nil {
		t.Fatal(err)
	}

	seen, beats := int64(0), 0
	deadline := time.After(30 * time.Second)
	for {
		var m *nats.Msg
		select {
		case m = <-msgs:
		case <-deadline:
			t.Fatalf("after %d beats, saw %d of %d up events and not the final beat", beats, seen, announcers*perAnnouncer)
		}
		if m.Subject == subjects.Presence {
			seen++
			continue
		}
		var hb heartbeat
		if err := json.Unmarshal(m.Data, &hb); err != nil {
			t.Fatal(err)
		}
		beats++
		if hb.Devices != seen {
			t.Fatalf("beat %d counts %d devices after %d up events", beats, hb.Devices, seen)
		}
		if seen == announcers*perAnnouncer {
			return
		}
	}
}
