package presence

import (
	"encoding/json"
	"math"

	"github.com/natterchat/natter/node/wire"
)

// A presence event goes out for every device that connects, disconnects
// or joins a chat, and every node reads every one: during a connection
// storm, encoding/json's reflection on them was a tenth of a node's CPU
// and its decoder the largest source of garbage. They are written and
// read by hand here, as encoding/json writes them: the bytes between the
// nodes are the same as ever, and an event in any other shape (another
// version, another order) is read by encoding/json, as before.

// appendJSON appends ev as encoding/json writes it, field for field in
// the order of event's fields and as its tags say, or returns
// encoding/json's error for an event it refuses.
func (ev *event) appendJSON(b []byte) ([]byte, error) {
	w := wire.NewObjectWriter(b)
	w.String("user", ev.User)
	w.String("name", ev.Name)
	if ev.Guest {
		w.Bool("guest", true)
	}
	w.String("device", ev.Device)
	w.String("node", ev.Node)
	w.Bool("up", ev.Up)
	w.Time("at", ev.At)
	if len(ev.Chats) > 0 {
		w.Strings("chats", ev.Chats)
	}
	if ev.Epoch != 0 {
		w.Int("epoch", ev.Epoch)
	}
	if ev.Seq != 0 {
		w.Uint("seq", ev.Seq)
	}
	if ev.Again {
		w.Bool("again", true)
	}
	if out, ok := w.Close(); ok {
		return out, nil
	}
	// A time MarshalJSON refuses; never one of time.Now. A copy, not to
	// move every event to the heap for this.
	refused := *ev
	out, err := json.Marshal(&refused)
	return append(b, out...), err
}

// decodeEvent reads an event into the zero *ev as json.Unmarshal does:
// by hand in the shape appendJSON writes, with encoding/json otherwise.
func decodeEvent(data []byte, ev *event) error {
	if readEvent(data, ev) {
		return nil
	}
	// Into a zero event of its own (json.Unmarshal keeps the fields it
	// does not set), not to move every event to the heap for this.
	var slow event
	err := json.Unmarshal(data, &slow)
	*ev = slow
	return err
}

// readEvent reads an event in the shape appendJSON writes into the zero
// *ev, or reports false.
func readEvent(data []byte, ev *event) bool {
	r := wire.NewObjectReader(data)
	if r.Field("user") {
		ev.User = r.String()
	}
	if r.Field("name") {
		ev.Name = r.String()
	}
	if r.Field("guest") {
		ev.Guest = r.Bool()
	}
	if r.Field("device") {
		ev.Device = r.String()
	}
	if r.Field("node") {
		ev.Node = r.String()
	}
	if r.Field("up") {
		ev.Up = r.Bool()
	}
	if r.Field("at") {
		ev.At = r.Time()
	}
	if r.Field("chats") {
		ev.Chats = r.Strings()
	}
	if r.Field("epoch") {
		ev.Epoch = r.Int()
	}
	if r.Field("seq") {
		ev.Seq = r.Uint(math.MaxUint64)
	}
	if r.Field("again") {
		ev.Again = r.Bool()
	}
	return r.Done()
}
