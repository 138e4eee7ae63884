package wire

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The frames a node sends most (a message to every member's device, a
// member list and a join notice per join, an acknowledgement per send)
// are written by hand here instead of by encoding/json's reflection:
// several times faster and without its garbage. The bytes are exactly
// encoding/json's (TestAppendMatchesEncodingJSON), so clients see no
// difference: the same field order, omitempty, HTML-safe escaping, null
// for a nil slice.

// appender is a contents type that writes its own JSON.
type appender interface {
	appendJSON(b []byte) []byte
	// sizeHint is about the bytes appendJSON writes, so that the frame
	// is allocated once.
	sizeHint() int
}

// appendFrame writes the envelope around contents that write themselves.
func appendFrame(b []byte, channel, typ string, contents appender) []byte {
	b = append(b, `{"channel":`...)
	b = appendString(b, channel)
	b = append(b, `,"message":{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"contents":`...)
	b = contents.appendJSON(b)
	return append(b, "}}"...)
}

const hexDigits = "0123456789abcdef"

// safe marks the ASCII bytes that stand for themselves in an HTML-safe
// JSON string.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping on: <, > and & as \u003c..., invalid UTF-8 as \ufffd,
// U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendField writes ,"name": (or "name": first) for a field.
func appendField(b []byte, first bool, name string) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func appendStringField(b []byte, first bool, name, v string) []byte {
	return appendString(appendField(b, first, name), v)
}

func appendUintField(b []byte, name string, v uint64) []byte {
	return strconv.AppendUint(appendField(b, false, name), v, 10)
}

func appendBoolField(b []byte, name string, v bool) []byte {
	return strconv.AppendBool(appendField(b, false, name), v)
}

// appendTimeField writes t as time.Time's MarshalJSON does (RFC 3339
// with nanoseconds, for the years 0 to 9999 it accepts).
func appendTimeField(b []byte, name string, t time.Time) []byte {
	return appendTime(appendField(b, false, name), t)
}

// appendTime writes t as a JSON string in time.RFC3339Nano.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendStrings writes a []string field; nil is null.
func appendStrings(b []byte, name string, ss []string) []byte {
	return appendStringList(appendField(b, false, name), ss)
}

// appendStringList writes a []string; nil is null.
func appendStringList(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// MarshalJSON writes a deleted message as its tombstone {room, chat, seq,
// deleted: true} (docs/protocol.md), whichever encoder writes it: a
// HistoryPage goes through encoding/json.
func (m NewMessage) MarshalJSON() ([]byte, error) {
	if m.Deleted {
		return m.appendTombstone(nil), nil
	}
	type plain NewMessage // without this method
	return json.Marshal(plain(m))
}

// MarshalJSON writes a list with a run as its frame has it, whichever
// encoder writes it; without one it is encoding/json's.
func (l MemberList) MarshalJSON() ([]byte, error) {
	if l.Run.n > 0 {
		return l.appendJSON(make([]byte, 0, l.sizeHint())), nil
	}
	type plain MemberList // without this method
	return json.Marshal(plain(l))
}

// appendTombstone writes a deleted message: only where it was.
func (m NewMessage) appendTombstone(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "room", m.Room)
	b = appendStringField(b, false, "chat", m.Chat)
	b = appendUintField(b, "seq", m.Seq)
	b = appendBoolField(b, "deleted", true)
	return append(b, '}')
}

func (m NewMessage) appendJSON(b []byte) []byte {
	if m.Deleted {
		return m.appendTombstone(b)
	}
	if m.EditedAt != nil || m.Reactions != nil {
		// History only, never on the fan-out's path.
		type plain NewMessage // without MarshalJSON
		out, err := json.Marshal(plain(m))
		if err != nil {
			panic("wire: encode NewMessage: " + err.Error())
		}
		return append(b, out...)
	}
	b = append(b, '{')
	b = appendStringField(b, true, "room", m.Room)
	b = appendStringField(b, false, "user", m.User)
	b = appendStringField(b, false, "message", m.Message)
	b = appendStringField(b, false, "chat", m.Chat)
	b = appendStringField(b, false, "name", m.Name)
	b = appendUintField(b, "seq", m.Seq)
	b = appendStringField(b, false, "id", m.ID)
	b = appendTimeField(b, "postedAt", m.PostedAt)
	if m.Device != "" {
		b = appendStringField(b, false, "device", m.Device)
	}
	if r := m.ReplyTo; r != nil {
		b = appendField(b, false, "replyTo")
		b = strconv.AppendUint(append(b, `{"seq":`...), r.Seq, 10)
		b = appendStringField(b, false, "user", r.User)
		if r.Name != "" {
			b = appendStringField(b, false, "name", r.Name)
		}
		b = appendStringField(b, false, "excerpt", r.Excerpt)
		if r.Deleted {
			b = appendBoolField(b, "deleted", true)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (e MemberEvent) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "room", e.Room)
	b = appendStringField(b, false, "chat", e.Chat)
	b = appendStringField(b, false, "user", e.User)
	b = appendStringField(b, false, "name", e.Name)
	return append(b, '}')
}

func (l MemberList) appendJSON(b []byte) []byte {
	if l.Run.n > 0 {
		b, more := l.appendParts(b, "")
		for _, p := range more {
			b = append(b, p...)
		}
		return b
	}
	b = append(b, '{')
	b = appendStringField(b, true, "room", l.Room)
	b = appendStringField(b, false, "chat", l.Chat)
	b = appendStrings(b, "users", l.Users)
	b = appendStrings(b, "online", l.Online)
	b = appendField(b, false, "members")
	if l.Members == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, m := range l.Members {
			if i > 0 {
				b = append(b, ',')
			}
			b = m.appendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (m MemberInfo) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "user", m.User)
	b = appendStringField(b, false, "name", m.Name)
	b = appendStringField(b, false, "role", m.Role)
	b = appendBoolField(b, "online", m.Online)
	return append(b, '}')
}

func (a MessageAccepted) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "room", a.Room)
	b = appendStringField(b, false, "chat", a.Chat)
	if a.ClientMsgID != "" {
		b = appendStringField(b, false, "clientMsgId", a.ClientMsgID)
	}
	b = appendStringField(b, false, "id", a.ID)
	b = appendUintField(b, "seq", a.Seq)
	b = appendBoolField(b, "duplicate", a.Duplicate)
	return append(b, '}')
}

func (e PresenceEvent) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "user", e.User)
	b = appendStringField(b, false, "name", e.Name)
	return append(b, '}')
}

func (w Welcome) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, true, "user", w.User)
	b = appendStringField(b, false, "name", w.Name)
	b = appendStringField(b, false, "device", w.Device)
	b = appendStringField(b, false, "node", w.Node)
	if w.ExpiresAt != nil {
		b = appendTimeField(b, "expiresAt", *w.ExpiresAt)
	}
	return append(b, '}')
}

// The size hints: the strings' lengths and the fields' names and marks.
func (m NewMessage) sizeHint() int {
	n := 140 + len(m.Room) + len(m.User) + len(m.Message) + len(m.Chat) + len(m.Name) + len(m.ID) + len(m.Device)
	if r := m.ReplyTo; r != nil {
		n += 70 + len(r.User) + len(r.Name) + len(r.Excerpt)
	}
	return n
}
func (e MemberEvent) sizeHint() int {
	return 40 + len(e.Room) + len(e.Chat) + len(e.User) + len(e.Name)
}
func (l MemberList) sizeHint() int {
	n := 60 + len(l.Room) + len(l.Chat)
	for _, u := range l.Users {
		n += 3 + len(u)
	}
	for _, u := range l.Online {
		n += 3 + len(u)
	}
	for _, m := range l.Members {
		n += 48 + len(m.User) + len(m.Name) + len(m.Role)
	}
	return n + 2*len(l.Run.ids) + len(l.Run.members) + 3
}
func (a MessageAccepted) sizeHint() int {
	return 90 + len(a.Room) + len(a.Chat) + len(a.ClientMsgID) + len(a.ID)
}
func (e PresenceEvent) sizeHint() int { return 20 + len(e.User) + len(e.Name) }
func (w Welcome) sizeHint() int {
	return 80 + len(w.User) + len(w.Name) + len(w.Device) + len(w.Node)
}
