package presence

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/jsontest"
)

// typicalEvent is a guest's "up" as a storm of joins publishes them.
func typicalEvent() event {
	return event{User: "b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", Name: "guest-b5eda4bd", Guest: true,
		Device: "c1d2e3f4-a8f2-4d6f-81c5-3da4c4333679", Node: "node-2f4a3c1b", Up: true,
		At: time.Date(2026, 12, 3, 0, 23, 12, 123456789, time.UTC), Chats: []string{"0f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90"},
		Epoch: 1796257392123456789, Seq: 4711, Again: true}
}

// randEventString draws strings that exercise every escaping rule.
func randEventString(r *rand.Rand) string {
	pieces := []string{"", "a", "guest-1234", "b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", `"q"`, `\`, "<b>&amp;</b>",
		"\n\t\x00\x1f", "é", "🎉", "\u2028", "\u2029", "\xff", "\xe2\x82"}
	var sb strings.Builder
	for range r.IntN(4) {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randEvent(r *rand.Rand) event {
	ev := event{User: randEventString(r), Name: randEventString(r), Guest: r.IntN(2) == 0,
		Device: randEventString(r), Node: randEventString(r), Up: r.IntN(2) == 0, Again: r.IntN(2) == 0}
	switch r.IntN(3) {
	case 0:
		ev.At = time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
	case 1:
		ev.At = time.Unix(r.Int64N(4e9), 0).UTC() // no fraction
	} // or zero
	switch r.IntN(3) {
	case 0:
		ev.Chats = []string{}
	case 1:
		for range 1 + r.IntN(3) {
			ev.Chats = append(ev.Chats, randEventString(r))
		}
	} // or nil
	if r.IntN(2) == 0 {
		ev.Epoch, ev.Seq = []int64{1, -1, math.MaxInt64, math.MinInt64, r.Int64()}[r.IntN(5)], 1+r.Uint64N(math.MaxUint64)
	}
	return ev
}

// TestEventEncodingMatchesEncodingJSON: the bytes between the nodes are
// what encoding/json wrote before, and mixed versions read each other.
func TestEventEncodingMatchesEncodingJSON(t *testing.T) {
	events := []event{{}, typicalEvent(), {User: "u", Chats: []string{}}, {User: "<\"u\">", Chats: []string{"", "\u2028"}}}
	r := rand.New(rand.NewPCG(7, 8))
	for range 20000 {
		events = append(events, randEvent(r))
	}
	ev := typicalEvent()
	ev.At = ev.At.In(time.FixedZone("", 5*3600+30*60)) // never from time.Now().UTC(), but the same bytes
	events = append(events, ev)
	for _, ev := range events {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ev.appendJSON([]byte("x"))
		if err != nil || !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("%+v:\n got %s (%v)\nwant x%s", ev, got, err, want)
		}
	}
}

// TestEventEncodingRefusesWhatEncodingJSONRefuses: a time encoding/json
// cannot write is its error, as before.
func TestEventEncodingRefusesWhatEncodingJSONRefuses(t *testing.T) {
	ev := typicalEvent()
	ev.At = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, want := json.Marshal(ev)
	if _, err := ev.appendJSON(nil); err == nil || want == nil || err.Error() != want.Error() {
		t.Fatalf("got %v, want %v", err, want)
	}
}

// TestEventRoundTrip: an event comes back as it went, read without
// encoding/json unless a string needed an escape.
func TestEventRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	events := []event{{}, typicalEvent()}
	for range 20000 {
		events = append(events, randEvent(r))
	}
	for _, ev := range events {
		data, err := ev.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got event
		if !readEvent(data, &got) && !bytes.Contains(data, []byte{'\\'}) {
			t.Fatalf("%s: not read without encoding/json", data)
		}
		got = event{}
		if err := decodeEvent(data, &got); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		want := ev
		if len(want.Chats) == 0 {
			want.Chats = nil // omitted
		}
		if !bytes.Contains(data, []byte{'\\'}) && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", data, got, want)
		}
		jsontest.CheckDecode(t, data, decodeEvent)
	}
}

// FuzzDecodeEvent: whatever a node receives, it reads what encoding/json
// reads, and fails as it fails.
func FuzzDecodeEvent(f *testing.F) {
	typical := typicalEvent()
	canonical, _ := typical.appendJSON(nil)
	for _, s := range []string{
		string(canonical),
		`{"user":"u","name":"n","device":"d","node":"n1","up":false,"at":"2026-12-03T00:23:12Z","epoch":-5,"seq":1}`,
		`{"user":"u","name":"n","device":"d","node":"n1","up":true,"at":"0001-01-01T00:00:00Z","chats":[]}`,
		`{"user":"u","name":"n","device":"d","node":"n1","up":true,"at":"2026-12-03T05:53:12.5+05:30"}`,
		`{"user":"u","name":"\u003c\"n\"\u003e","device":"d","node":"n1","up":true,"at":"2026-12-03T00:23:12Z"}`,
		`{"name":"n","user":"u"}`,
		`{"user":"u","User":"v"}`,
		`{"user":"u","extra":{"a":[1,2]}}`,
		`{"user": "u"}`,
		`{"user":"u","chats":null}`,
		`{"user":"u","chats":["a",null]}`,
		`{"user":"u","at":null}`,
		`{"user":"u","at":"yesterday"}`,
		`{"user":"u","seq":-1}`,
		`{"user":"u","epoch":1.5}`,
		`{"user":"u","up":"yes"}`,
		`{"user":"\xff"}`,
		`{"user":"u"`,
		`not json`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { jsontest.CheckDecode(t, data, decodeEvent) })
}

// BenchmarkEventCodec compares the hand-written encoding and decoding of
// a typical event with encoding/json's.
func BenchmarkEventCodec(b *testing.B) {
	ev := typicalEvent()
	data, _ := ev.appendJSON(nil)
	b.Run("encode/append", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, _ = ev.appendJSON(buf[:0])
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(ev)
		}
	})
	jsontest.BenchDecode(b, data, decodeEvent)
}
