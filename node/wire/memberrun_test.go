package wire

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMemberRunMatchesEncodingJSON: a list whose last members are in a
// run, built by appending and by removing members (in new arrays or in
// place), is byte for byte the
// list encoding/json writes with every member in the slices.
func TestMemberRunMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		l := MemberList{Room: randString(r), Chat: randString(r), Users: randStrings(r), Online: randStrings(r)}
		for _, u := range l.Users {
			l.Members = append(l.Members, MemberInfo{User: u, Name: randString(r), Role: randString(r), Online: r.IntN(2) == 0})
		}
		// The run's members have distinct ids, as a chat's guests do.
		var run []MemberInfo
		for i := range r.IntN(6) {
			m := MemberInfo{User: randString(r) + string(rune('A'+i)), Name: randString(r), Role: "member", Online: true}
			run = append(run, m)
			l.Run.AppendOnline(m.User, m.Name, m.Role)
		}
		for range r.IntN(3) {
			if len(run) == 0 {
				break
			}
			i := r.IntN(len(run))
			if r.IntN(2) == 0 {
				without, ok := l.Run.Without(run[i].User)
				if !ok {
					t.Fatalf("Without(%q): not found in a run of %d", run[i].User, len(run))
				}
				l.Run = without
			} else if !l.Run.Delete(run[i].User) {
				t.Fatalf("Delete(%q): not found in a run of %d", run[i].User, len(run))
			}
			if _, ok := l.Run.Without(run[i].User); ok {
				t.Fatalf("%q removed, and found again", run[i].User)
			}
			run = slices.Delete(run, i, i+1)
		}
		if l.Run.Len() != len(run) {
			t.Fatalf("Len %d, want %d", l.Run.Len(), len(run))
		}
		plain := MemberList{Room: l.Room, Chat: l.Chat, Users: l.Users, Online: l.Online, Members: l.Members}
		for _, m := range run {
			plain.Users = append(plain.Users, m.User)
			plain.Online = append(plain.Online, m.User)
			plain.Members = append(plain.Members, m)
		}
		want := encodeJSON("c", "t", plain)
		if got := Encode("c", "t", l); !bytes.Equal(got, want) {
			t.Fatalf("run of %d:\n got %s\nwant %s", len(run), got, want)
		}
		if got := encodeJSON("c", "t", l); !bytes.Equal(got, want) {
			t.Fatalf("run of %d, by encoding/json:\n got %s\nwant %s", len(run), got, want)
		}
		first, more := EncodeListParts(3, "c", "t", l)
		if got := bytes.Join(append([][]byte{first[3:]}, more...), nil); !bytes.Equal(got, want) || len(first) < 3 {
			t.Fatalf("run of %d, in parts:\n got %s\nwant %s", len(run), got, want)
		}
	}
}

// TestMemberRunCopiesStayValid: a copy of a run taken before the run
// grows or loses a member encodes as it did when taken.
func TestMemberRunCopiesStayValid(t *testing.T) {
	var r MemberRun
	r.AppendOnline("a", "Ann", "member")
	r.AppendOnline("b", "Bob", "member")
	taken := r
	before := Encode("c", "t", MemberList{Run: taken})
	r.AppendOnline("c", "Cy", "member")
	r, _ = r.Without("a")
	r.AppendOnline("d", "Di", "member")
	if after := Encode("c", "t", MemberList{Run: taken}); !bytes.Equal(before, after) {
		t.Fatalf("the copy changed:\n%s\n%s", before, after)
	}
}
