package chat

import (
	"encoding/json"
	"math"

	"github.com/natterchat/natter/node/wire"
)

// A user event goes out for every join and leave, and every node reads
// every one: during a connection storm, encoding/json's reflection on
// them was a cost worth avoiding. They are written and read by hand here,
// as encoding/json writes them: the bytes between the nodes are the same
// as ever, and an event in any other shape (another version, another
// order) is read by encoding/json, as before.

// appendJSON appends ev as encoding/json writes it: field for field in
// the order of userEvent's fields, the embedded MemberEvent's in its
// place, and as their tags say.
func (ev *userEvent) appendJSON(b []byte) []byte {
	w := wire.NewObjectWriter(b)
	w.String("type", ev.Type)
	w.String("room", ev.Room)
	w.String("chat", ev.Chat)
	w.String("user", ev.User)
	w.String("name", ev.Name)
	if ev.Since != 0 {
		w.Uint("since", ev.Since)
	}
	if ev.Guest {
		w.Bool("guest", true)
	}
	if ev.Told != "" {
		w.String("told", ev.Told)
	}
	if ev.Sent != "" {
		w.String("sent", ev.Sent)
	}
	if ev.Version != 0 {
		w.Uint("version", uint64(ev.Version))
	}
	b, _ = w.Close() // nothing encoding/json would refuse
	return b
}

// encode returns ev's JSON in a buffer of its own.
func (ev *userEvent) encode() []byte {
	return ev.appendJSON(make([]byte, 0, 100+len(ev.Type)+len(ev.Room)+len(ev.Chat)+len(ev.User)+len(ev.Name)+len(ev.Told)+len(ev.Sent)))
}

// decodeUserEvent reads a user event into the zero *ev as json.Unmarshal
// does: by hand in the shape appendJSON writes, with encoding/json
// otherwise.
func decodeUserEvent(data []byte, ev *userEvent) error {
	if readUserEvent(data, ev) {
		return nil
	}
	// Into a zero event of its own (json.Unmarshal keeps the fields it
	// does not set), not to move every event to the heap for this.
	var slow userEvent
	err := json.Unmarshal(data, &slow)
	*ev = slow
	return err
}

// readUserEvent reads a user event in the shape appendJSON writes into
// the zero *ev, or reports false.
func readUserEvent(data []byte, ev *userEvent) bool {
	r := wire.NewObjectReader(data)
	if r.Field("type") {
		ev.Type = r.StringOf(wire.TypeJoinedRoom, wire.TypeLeftRoom, eventRevoked)
	}
	if r.Field("room") {
		ev.Room = r.String()
	}
	if r.Field("chat") {
		ev.Chat = r.String()
	}
	if r.Field("user") {
		ev.User = r.String()
	}
	if r.Field("name") {
		ev.Name = r.String()
	}
	if r.Field("since") {
		ev.Since = r.Uint(math.MaxUint64)
	}
	if r.Field("guest") {
		ev.Guest = r.Bool()
	}
	if r.Field("told") {
		ev.Told = r.String()
	}
	if r.Field("sent") {
		ev.Sent = r.String()
	}
	if r.Field("version") {
		ev.Version = uint32(r.Uint(math.MaxUint32))
	}
	return r.Done()
}
