package subjects

import (
	"regexp"
	"testing"
)

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"abc", true},
		{"b5eda4bd-a8f2-4d6f-81c5-3da4c4333679", true},
		{"A_z-09", true},
		{"", false},
		{"a.b", false},
		{"a*", false},
		{">", false},
		{"a b", false},
		{"#haskell", false},
		{"é", false},
		{string(make([]byte, MaxIDLen+1)), false},
	} {
		if got := ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	const c, u, d, n = "chat-1", "user_2", "dev3", "node4"
	if id, ok := ParseChatMsg(ChatMsg(c)); !ok || id != c {
		t.Errorf("ParseChatMsg: %q %v", id, ok)
	}
	for _, k := range []int{1, 3} {
		if id, ok := ParseChatMsg(ChatMsgIn(k-1, k, c)); !ok || id != c {
			t.Errorf("ParseChatMsg(ChatMsgIn(%d, %d)): %q %v", k-1, k, id, ok)
		}
	}
	if id, ok := ParseLiveChat(LiveChat(c)); !ok || id != c {
		t.Errorf("ParseLiveChat: %q %v", id, ok)
	}
	if id, ok := ParseUserEvents(UserEvents(u)); !ok || id != u {
		t.Errorf("ParseUserEvents: %q %v", id, ok)
	}
	if id, op, ok := ParseNodeRequest(NodeRequest(n, "presence")); !ok || id != n || op != "presence" {
		t.Errorf("ParseNodeRequest: %q %q %v", id, op, ok)
	}
	if a, b, ok := ParseMemberKey(MemberKey(c, u)); !ok || a != c || b != u {
		t.Errorf("ParseMemberKey: %q %q %v", a, b, ok)
	}
	if a, b, ok := ParseUserChatKey(UserChatKey(u, c)); !ok || a != u || b != c {
		t.Errorf("ParseUserChatKey: %q %q %v", a, b, ok)
	}
}

// TestOneStreamNamesUnchanged: with one message stream the names are
// those from before partitions, byte for byte, so existing state works.
func TestOneStreamNamesUnchanged(t *testing.T) {
	if MessageStream(0, 1) != "CHAT_MSGS" || ChatMsgIn(0, 1, "c") != "chat.c.msg" || ChatMsgFilter(0, 1) != "chat.*.msg" {
		t.Fatalf("one stream: %q %q %q", MessageStream(0, 1), ChatMsgIn(0, 1, "c"), ChatMsgFilter(0, 1))
	}
	if MessageStream(2, 3) != "CHAT_MSGS_2" || ChatMsgIn(2, 3, "c") != "chat.2.c.msg" || ChatMsgFilter(2, 3) != "chat.2.*.msg" {
		t.Fatalf("three streams: %q %q %q", MessageStream(2, 3), ChatMsgIn(2, 3, "c"), ChatMsgFilter(2, 3))
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{"chat..msg", "chat.a.b.msg", "chat.*.msg", "chat.1.*.msg", "chat.-1.a.msg", "chat.1.a.b.msg", "chat.a.msgx", "live.chat.", "live.chat.a.b", "x"} {
		if _, ok := ParseChatMsg(s); ok {
			t.Errorf("ParseChatMsg(%q) accepted", s)
		}
		if _, ok := ParseLiveChat(s); ok {
			t.Errorf("ParseLiveChat(%q) accepted", s)
		}
	}
}

var keyRE = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func TestNameKeyIsKeySafe(t *testing.T) {
	for _, name := range []string{"#haskell", "a b c", "😀 emoji room", "x/y.z", "Ünïcödé"} {
		if k := NameKey(name); !keyRE.MatchString(k) {
			t.Errorf("NameKey(%q) = %q is not a valid KV key", name, k)
		}
	}
}

// FuzzBuildParse checks that every subject and key built from a valid id
// parses back to it, and that invalid ids never parse.
func FuzzBuildParse(f *testing.F) {
	for _, s := range []string{"abc", "a.b", "", "*", ">", "b5eda4bd-a8f2", "x y"} {
		f.Add(s, "other")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		valid := ValidID(a) && ValidID(b)
		// An invalid id of one stream's subject may read as a valid one of
		// a partitioned subject ("1.b" as partition 1, chat b), but never
		// as itself; natter builds subjects of valid ids only.
		if id, ok := ParseChatMsg(ChatMsg(a)); (ValidID(a) && (!ok || id != a)) || (!ValidID(a) && ok && id == a) {
			t.Fatalf("ChatMsg(%q): %q %v", a, id, ok)
		}
		if id, ok := ParseChatMsg(ChatMsgIn(2, 3, a)); ok != ValidID(a) || (ok && id != a) {
			t.Fatalf("ChatMsgIn(2, 3, %q): %q %v", a, id, ok)
		}
		if id, ok := ParseLiveChat(LiveChat(a)); ok != ValidID(a) || (ok && id != a) {
			t.Fatalf("LiveChat(%q): %q %v", a, id, ok)
		}
		if id, ok := ParseUserEvents(UserEvents(a)); ok != ValidID(a) || (ok && id != a) {
			t.Fatalf("UserEvents(%q): %q %v", a, id, ok)
		}
		if x, y, ok := ParseMemberKey(MemberKey(a, b)); ok != valid || (ok && (x != a || y != b)) {
			t.Fatalf("MemberKey(%q,%q): %q %q %v", a, b, x, y, ok)
		}
		if valid && !keyRE.MatchString(MemberKey(a, b)) {
			t.Fatalf("MemberKey(%q,%q) not key-safe", a, b)
		}
		if k := NameKey(a); a != "" && !keyRE.MatchString(k) {
			t.Fatalf("NameKey(%q) = %q not key-safe", a, k)
		}
	})
}
