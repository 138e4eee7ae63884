package wire

import (
	"strconv"
	"time"
)

// ObjectWriter writes a JSON object field by field with the helpers of
// the frames that write themselves (append.go): byte for byte what
// encoding/json writes for a struct, provided the caller writes the
// fields in the struct's order and leaves out, as its tags say, the
// omitempty ones that are empty. The node's own messages between nodes
// use it on their busiest paths (a presence event and a user event per
// join), where encoding/json's reflection costs CPU and garbage;
// ObjectReader reads what it writes.
type ObjectWriter struct {
	b      []byte
	fields int
	// bad is set by a value encoding/json refuses (a time it cannot
	// write as RFC 3339): the caller falls back to encoding/json for
	// its error.
	bad bool
}

// NewObjectWriter starts an object at the end of b.
func NewObjectWriter(b []byte) ObjectWriter {
	return ObjectWriter{b: append(b, '{')}
}

// field writes the field's name and the comma before it.
func (w *ObjectWriter) field(name string) {
	w.b = appendField(w.b, w.fields == 0, name)
	w.fields++
}

// String writes a string field, HTML-safe as encoding/json escapes it.
func (w *ObjectWriter) String(name, v string) {
	w.field(name)
	w.b = appendString(w.b, v)
}

// Bool writes a bool field.
func (w *ObjectWriter) Bool(name string, v bool) {
	w.field(name)
	w.b = strconv.AppendBool(w.b, v)
}

// Int writes a signed integer field.
func (w *ObjectWriter) Int(name string, v int64) {
	w.field(name)
	w.b = strconv.AppendInt(w.b, v, 10)
}

// Uint writes an unsigned integer field.
func (w *ObjectWriter) Uint(name string, v uint64) {
	w.field(name)
	w.b = strconv.AppendUint(w.b, v, 10)
}

// Time writes a time.Time field as its MarshalJSON does: RFC 3339 with
// nanoseconds. A time MarshalJSON refuses (a year outside 0 to 9999, a
// zone offset of a day or more) makes Close report failure.
func (w *ObjectWriter) Time(name string, t time.Time) {
	w.field(name)
	n0 := len(w.b)
	w.b = appendTime(w.b, t)
	// time.Time.MarshalJSON's checks, on the text it wrote: the year
	// exactly 4 digits wide, the zone's hours below 24.
	s := w.b[n0+1 : len(w.b)-1]
	if s[len("9999")] != '-' {
		w.bad = true
	} else if s[len(s)-1] != 'Z' {
		c := s[len(s)-len("Z07:00")]
		h := 10*(s[len(s)-len("07:00")]-'0') + s[len(s)-len("7:00")] - '0'
		w.bad = w.bad || ('0' <= c && c <= '9') || h >= 24
	}
}

// Strings writes a []string field; nil is null, as encoding/json writes
// a nil slice.
func (w *ObjectWriter) Strings(name string, ss []string) {
	w.field(name)
	w.b = appendStringList(w.b, ss)
}

// Close ends the object and returns the buffer with it, or false if a
// value was one encoding/json refuses to write.
func (w *ObjectWriter) Close() ([]byte, bool) {
	w.b = append(w.b, '}')
	return w.b, !w.bad
}
