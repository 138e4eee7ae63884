package wire

import "bytes"

// MemberRun is a run of online members already encoded for member lists.
// A member list is built for every join and lists every member, so
// filling a room of N guests one join at a time encoded O(N²) bytes of
// JSON: a fifth of a node's CPU in a storm of guests joining rooms of
// 100. The presence view keeps each chat's online guests as a run, adds
// a guest's encoding once when it arrives, and every list copies the
// run (MemberList.Run).
//
// A run only grows where it ends: AppendOnline writes past the bytes any
// earlier copy of the run covers, and Without builds new arrays. So a
// copy taken under the owner's lock stays valid, unchanged, after the
// lock is released while the owner goes on appending.
type MemberRun struct {
	// ids are the members' ids as JSON strings separated by commas: the
	// elements the run adds to both users and online.
	ids []byte
	// members are their MemberInfo objects separated by commas.
	members []byte
	n       int
}

// AppendOnline adds an online member at the run's end.
func (r *MemberRun) AppendOnline(user, name, role string) {
	if r.n > 0 {
		r.ids = append(r.ids, ',')
		r.members = append(r.members, ',')
	}
	r.ids = appendString(r.ids, user)
	r.members = MemberInfo{User: user, Name: name, Role: role, Online: true}.appendJSON(r.members)
	r.n++
}

// Len is the number of members in the run.
func (r MemberRun) Len() int { return r.n }

// Without returns the run without user, in new arrays, and whether user
// was in it: copies of the run stay as they were. Removing copies bytes
// instead of encoding the others again.
func (r MemberRun) Without(user string) (MemberRun, bool) {
	return r.remove(user, func(b []byte, i, j int) []byte {
		out := make([]byte, 0, len(b)-(j-i)+256) // room for a member or two to arrive
		out = append(out, b[:i]...)
		return append(out, b[j:]...)
	})
}

// Delete removes user from the run in its arrays, and reports whether
// user was in it. Only for a run of which no copy is in use: the bytes
// a copy covers change.
func (r *MemberRun) Delete(user string) bool {
	out, ok := r.remove(user, func(b []byte, i, j int) []byte { return append(b[:i], b[j:]...) })
	*r = out
	return ok
}

// remove finds user's elements and cuts them out with cut, which is
// given the element's span widened by one of the commas around it.
func (r MemberRun) remove(user string, cut func(b []byte, i, j int) []byte) (MemberRun, bool) {
	const head = `{"user":`
	member := append(appendString(append(make([]byte, 0, len(head)+len(user)+3), head...), user), ',')
	id := member[len(head) : len(member)-1]
	i := elementAt(r.ids, id)
	if i < 0 {
		return r, false
	}
	j := elementAt(r.members, member)
	if j < 0 {
		return r, false // not written by AppendOnline: cannot happen
	}
	const tail = `"online":true}`
	end := j + bytes.Index(r.members[j:], []byte(tail)) + len(tail)
	return MemberRun{
		ids:     cut(widen(r.ids, i, i+len(id))),
		members: cut(widen(r.members, j, end)),
		n:       r.n - 1,
	}, true
}

// elementAt is where an element starting with prefix begins in the
// comma-separated list b, or -1. An element begins at the start or after
// a comma outside any string; the prefixes searched for begin with a
// quote or a brace that no string holds unescaped, so a match at a
// comma is an element's start.
func elementAt(b, prefix []byte) int {
	for off := 0; ; {
		i := bytes.Index(b[off:], prefix)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || b[i-1] == ',' {
			if prefix[0] != '"' || i+len(prefix) == len(b) || b[i+len(prefix)] == ',' {
				return i
			}
		}
		off = i + 1
	}
}

// widen returns b and the span of the element b[i:j] with one of the
// commas around it: the one after it, or before it for the last one.
func widen(b []byte, i, j int) ([]byte, int, int) {
	switch {
	case j < len(b):
		j++
	case i > 0:
		i--
	}
	return b, i, j
}

// EncodeListParts encodes l as EncodeAfter(room, channel, typ, l) does,
// in parts that point at l.Run's bytes instead of copying them, for
// wsconn.TextFrameOfParts: first (room bytes, then the frame up to the
// run's ids in users), then more. A member list of a room of N guests
// is O(N) bytes, and one is sent per join: copied, filling the room
// allocated O(N²) bytes, most of a join storm's garbage. Without a run,
// first is the whole frame and more is nil.
func EncodeListParts(room int, channel, typ string, l MemberList) (first []byte, more [][]byte) {
	if l.Run.n == 0 {
		return EncodeAfter(room, channel, typ, l), nil
	}
	n := room + 100 + len(channel) + len(typ) + len(l.Room) + len(l.Chat)
	for _, u := range l.Users {
		n += 3 + len(u)
	}
	first = make([]byte, room, n)
	first = append(first, `{"channel":`...)
	first = appendString(first, channel)
	first = append(first, `,"message":{"type":`...)
	first = appendString(first, typ)
	first = append(first, `,"contents":`...)
	return l.appendParts(first, "}}")
}

// appendParts writes the contents of l, which has a run, after b in
// parts: b up to the run's ids in users, then the run's ids, the rest of
// users and online up to the ids again, the ids, the rest of online and
// members up to the run's members, the run's members, and the end of
// the list followed by end. The parts other than the run's are in b and
// one new array.
func (l MemberList) appendParts(b []byte, end string) (first []byte, more [][]byte) {
	b = append(b, '{')
	b = appendStringField(b, true, "room", l.Room)
	b = appendStringField(b, false, "chat", l.Chat)
	b = appendElements(append(appendField(b, false, "users"), '['), l.Users)

	n := 40 + len(end)
	for _, u := range l.Online {
		n += 3 + len(u)
	}
	for _, m := range l.Members {
		n += 48 + len(m.User) + len(m.Name) + len(m.Role)
	}
	tail := append(make([]byte, 0, n), `],"online":[`...)
	tail = appendElements(tail, l.Online)
	online := len(tail)
	tail = append(tail, `],"members":[`...)
	for _, m := range l.Members {
		tail = append(m.appendJSON(tail), ',')
	}
	members := len(tail)
	tail = append(append(tail, "]}"...), end...)
	return b, [][]byte{l.Run.ids, tail[:online], l.Run.ids, tail[online:members], l.Run.members, tail[members:]}
}

// appendElements writes ss as JSON strings, each followed by a comma:
// the elements of a list that goes on with a run.
func appendElements(b []byte, ss []string) []byte {
	for _, s := range ss {
		b = append(appendString(b, s), ',')
	}
	return b
}
