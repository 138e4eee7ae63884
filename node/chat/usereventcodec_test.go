package chat

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/natterchat/natter/internal/jsontest"
	"github.com/natterchat/natter/node/wire"
)

// typicalUserEvent is a guest's join as a storm of joins publishes them.
func typicalUserEvent() userEvent {
	return userEvent{Type: wire.TypeJoinedRoom, MemberEvent: wire.MemberEvent{Room: "#room-0042",
		Chat: "0f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90", User: "b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", Name: "guest-b5eda4bd"},
		Since: 123456, Guest: true}
}

// randUserEventString draws strings that exercise every escaping rule.
func randUserEventString(r *rand.Rand) string {
	pieces := []string{"", "a", "#haskell", "b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", wire.TypeJoinedRoom, wire.TypeLeftRoom,
		eventRevoked, `"q"`, `\`, "<b>&amp;</b>", "\n\t\x00\x1f", "é", "🎉", "\u2028", "\u2029", "\xff", "\xe2\x82"}
	var sb strings.Builder
	for range r.IntN(3) {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randUserEvent(r *rand.Rand) userEvent {
	ev := userEvent{Type: randUserEventString(r), MemberEvent: wire.MemberEvent{Room: randUserEventString(r),
		Chat: randUserEventString(r), User: randUserEventString(r), Name: randUserEventString(r)}, Guest: r.IntN(2) == 0}
	if r.IntN(2) == 0 {
		ev.Since = []uint64{1, math.MaxUint64, r.Uint64()}[r.IntN(3)]
	}
	if r.IntN(2) == 0 {
		ev.Version = []uint32{1, math.MaxUint32, r.Uint32()}[r.IntN(3)]
	}
	if r.IntN(2) == 0 {
		ev.Told = randUserEventString(r)
	}
	if r.IntN(2) == 0 {
		ev.Sent = randUserEventString(r)
	}
	return ev
}

// TestUserEventEncodingMatchesEncodingJSON: the bytes between the nodes
// are what encoding/json wrote before, and mixed versions read each
// other.
func TestUserEventEncodingMatchesEncodingJSON(t *testing.T) {
	events := []userEvent{{}, typicalUserEvent(), {Type: eventRevoked, Version: 7}}
	r := rand.New(rand.NewPCG(11, 12))
	for range 20000 {
		events = append(events, randUserEvent(r))
	}
	for _, ev := range events {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.encode(); !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %s\nwant %s", ev, got, want)
		}
	}
}

// TestUserEventRoundTrip: an event comes back as it went, read without
// encoding/json unless a string needed an escape.
func TestUserEventRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	events := []userEvent{{}, typicalUserEvent(), {Type: eventRevoked, Version: 7}}
	for range 20000 {
		events = append(events, randUserEvent(r))
	}
	for _, ev := range events {
		data := ev.encode()
		var got userEvent
		if !readUserEvent(data, &got) && !bytes.Contains(data, []byte{'\\'}) {
			t.Fatalf("%s: not read without encoding/json", data)
		}
		got = userEvent{}
		if err := decodeUserEvent(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if !bytes.Contains(data, []byte{'\\'}) && !reflect.DeepEqual(got, ev) {
			t.Fatalf("%s:\n got %+v\nwant %+v", data, got, ev)
		}
		jsontest.CheckDecode(t, data, decodeUserEvent)
	}
}

// FuzzDecodeUserEvent: whatever a node receives, it reads what
// encoding/json reads, and fails as it fails.
func FuzzDecodeUserEvent(f *testing.F) {
	typical := typicalUserEvent()
	revoked := userEvent{Type: eventRevoked, Version: math.MaxUint32}
	for _, s := range []string{
		string(typical.encode()),
		string(revoked.encode()),
		`{"type":"LeftRoom","room":"#a","chat":"c","user":"u","name":"n"}`,
		`{"type":"Other","room":"é🎉","chat":"c","user":"u","name":"n","since":0,"guest":false,"version":0}`,
		`{"type":"JoinedRoom","room":"\u003ca\u003e","chat":"c","user":"u","name":"n"}`,
		`{"room":"#a","type":"JoinedRoom"}`,
		`{"type":"JoinedRoom","Room":"#a"}`,
		`{"type":"JoinedRoom","MemberEvent":{"room":"#a"}}`,
		`{"type":"JoinedRoom","room":"#a","extra":[1,{"a":null}]}`,
		`{"type": "JoinedRoom"}`,
		`{"type":null}`,
		`{"type":"JoinedRoom","since":-1}`,
		`{"type":"JoinedRoom","since":1e2}`,
		`{"type":"TokensRevoked","version":4294967296}`,
		`{"type":"JoinedRoom","guest":1}`,
		`{"type":"JoinedRoom","room":"#a","chat":"c","user":"u","name":"n","since":3,"told":"d-1"}`,
		`{"type":"JoinedRoom","told":7}`,
		`{"type":"\xff"}`,
		`{"type":"JoinedRoom"`,
		`not json`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { jsontest.CheckDecode(t, data, decodeUserEvent) })
}

// BenchmarkUserEventCodec compares the hand-written encoding and
// decoding of a typical event with encoding/json's.
func BenchmarkUserEventCodec(b *testing.B) {
	ev := typicalUserEvent()
	data := ev.encode()
	b.Run("encode/append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ev.encode()
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(ev)
		}
	})
	jsontest.BenchDecode(b, data, decodeUserEvent)
}
