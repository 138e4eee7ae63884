package wire

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// randString draws strings that exercise every escaping rule: HTML
// characters, control characters, quotes and backslashes, multi-byte
// runes, U+2028/2029 and invalid UTF-8.
func randString(r *rand.Rand) string {
	pieces := []string{"", "a", "room", "#haskell", "<b>&amp;</b>", "\"q\"", `\`, "\n\t\r\b\f", "\x00\x01\x1f", "\x7f",
		"é", "🎉", "\u2028", "\u2029", "\xff", "\xe2\x82", "Monad monoid category whatever", "guest-1234", "ü\u2028ü"}
	var sb strings.Builder
	for range r.IntN(5) {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randStrings(r *rand.Rand) []string {
	if r.IntN(4) == 0 {
		return nil
	}
	out := make([]string, r.IntN(4))
	for i := range out {
		out[i] = randString(r)
	}
	return out
}

func randTime(r *rand.Rand) time.Time {
	t := time.Unix(r.Int64N(4e9), r.Int64N(1e9))
	switch r.IntN(3) {
	case 0:
		return t.UTC()
	case 1:
		return t.In(time.FixedZone("x", 3600*5+1800))
	default:
		return time.Unix(t.Unix(), 0).UTC() // no fraction
	}
}

// randContents draws a value of every type that writes its own JSON.
func randContents(r *rand.Rand) []any {
	members := make([]MemberInfo, r.IntN(4))
	for i := range members {
		members[i] = MemberInfo{User: randString(r), Name: randString(r), Role: randString(r), Online: r.IntN(2) == 0}
	}
	if r.IntN(4) == 0 {
		members = nil
	}
	expires := randTime(r)
	return []any{
		NewMessage{Room: randString(r), User: randString(r), Message: randString(r), Chat: randString(r), Name: randString(r),
			Seq: r.Uint64(), ID: randString(r), PostedAt: randTime(r), Device: randString(r)},
		NewMessage{Room: randString(r), User: randString(r), Message: randString(r), Chat: randString(r), Name: randString(r),
			Seq: r.Uint64(), ID: randString(r), PostedAt: randTime(r),
			ReplyTo: &ReplyRef{Seq: r.Uint64(), User: randString(r), Name: randString(r), Excerpt: randString(r), Deleted: r.IntN(2) == 0}},
		NewMessage{Seq: r.Uint64(), Deleted: true, Reactions: map[string][]string{randString(r): randStrings(r)}},
		MemberEvent{Room: randString(r), Chat: randString(r), User: randString(r), Name: randString(r)},
		MemberList{Room: randString(r), Chat: randString(r), Users: randStrings(r), Online: randStrings(r), Members: members},
		MessageAccepted{Room: randString(r), Chat: randString(r), ClientMsgID: randString(r), ID: randString(r), Seq: r.Uint64(), Duplicate: r.IntN(2) == 0},
		PresenceEvent{User: randString(r), Name: randString(r)},
		Welcome{User: randString(r), Name: randString(r), Device: randString(r), Node: randString(r)},
		Welcome{User: randString(r), Name: randString(r), Device: randString(r), Node: randString(r), ExpiresAt: &expires},
	}
}

// TestAppendMatchesEncodingJSON: every frame that writes itself is, byte
// for byte, what encoding/json writes for it: clients cannot tell.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		channel, typ := randString(r), randString(r)
		for _, c := range randContents(r) {
			if _, ok := c.(appender); !ok {
				t.Fatalf("%T does not write itself", c)
			}
			got, want := Encode(channel, typ, c), encodeJSON(channel, typ, c)
			if !bytes.Equal(got, want) {
				t.Fatalf("%T:\n got %s\nwant %s", c, got, want)
			}
			if after := EncodeAfter(3, channel, typ, c); !bytes.Equal(after[3:], want) || len(after) != 3+len(want) {
				t.Fatalf("%T: EncodeAfter:\n got %s\nwant %s", c, after[3:], want)
			}
		}
	}
}

// FuzzAppendString: any string is escaped as encoding/json escapes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "<>&", "\u2028", "\xff\xfe", "a\"b\\c", "\x00\x1f\x7f", "🎉"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Encode(s, s, PresenceEvent{User: s, Name: s})
		want := encodeJSON(s, s, PresenceEvent{User: s, Name: s})
		if !bytes.Equal(got, want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
	})
}

// BenchmarkEncode compares the frames that write themselves with
// encoding/json, for a message and a member list of 100.
func BenchmarkEncode(b *testing.B) {
	msg := NewMessage{Room: "#haskell", User: "b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", Message: "Monad monoid category whatever",
		Chat: "0f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90", Name: "guest-b5eda4bd", Seq: 123456, ID: "6f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90",
		PostedAt: time.Now().UTC(), Device: "c1d2e3f4-a8f2-4d6f-81c5-3da4c4333679"}
	list := MemberList{Room: "#haskell", Chat: msg.Chat}
	for range 100 {
		list.Users = append(list.Users, msg.User)
		list.Online = append(list.Online, msg.User)
		list.Members = append(list.Members, MemberInfo{User: msg.User, Name: msg.Name, Role: "member", Online: true})
	}
	for _, c := range []struct {
		name     string
		contents any
	}{{"NewMessage", msg}, {"MemberList100", list}} {
		b.Run(c.name+"/append", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Encode(ChannelChatRoom, TypeNewMessage, c.contents)
			}
		})
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				encodeJSON(ChannelChatRoom, TypeNewMessage, c.contents)
			}
		})
	}
}
