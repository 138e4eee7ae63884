package wire

import (
	"math"
	"time"
	"unicode/utf8"
)

// ObjectReader reads a JSON object in the canonical shape ObjectWriter
// writes, without reflection: the fields in the caller's order, no
// whitespace, strings without escapes, integers without fraction or
// exponent, true and false, times as time.Time reads them, null only for
// a nil slice. Anything else (another order, an unknown or repeated key,
// an escape, another null, a number out of range, invalid UTF-8, invalid
// JSON) makes Done report false, for the caller to decode the input with
// encoding/json, which then behaves (and fails) exactly as it always
// did. Within the canonical shape, it reads what encoding/json reads.
//
// A decoder asks for each field of its struct in order with Field, and
// reads the value with the method of its type when Field reports true;
// a field that is not there keeps its zero value, as with encoding/json.
//
//	r := wire.NewObjectReader(data)
//	if r.Field("user") {
//		ev.User = r.String()
//	}
//	...
//	if !r.Done() {
//		*ev = event{} // encoding/json keeps what it does not overwrite
//		return json.Unmarshal(data, ev)
//	}
type ObjectReader struct {
	data   []byte
	i      int // the next byte to read
	fields int
	bad    bool
}

// NewObjectReader starts reading the object data holds.
func NewObjectReader(data []byte) ObjectReader {
	r := ObjectReader{data: data, i: 1}
	r.bad = len(data) < 2 || data[0] != '{'
	return r
}

// Field reports whether the next field is name, and if so moves to its
// value, which the caller must read.
func (r *ObjectReader) Field(name string) bool {
	if r.bad {
		return false
	}
	i := r.i
	if r.fields > 0 {
		if i >= len(r.data) || r.data[i] != ',' {
			return false
		}
		i++
	}
	end := i + len(name) + 3 // "name":
	if end > len(r.data) || r.data[i] != '"' || string(r.data[i+1:end-2]) != name || r.data[end-2] != '"' || r.data[end-1] != ':' {
		return false
	}
	r.i = end
	r.fields++
	return true
}

// Done reports whether the object ended where the reader is, with
// nothing after it, and every value was in the canonical shape.
func (r *ObjectReader) Done() bool {
	return !r.bad && r.i == len(r.data)-1 && r.data[r.i] == '}'
}

// stringBytes reads a string without escapes, control characters or
// invalid UTF-8 and returns its contents, in data.
func (r *ObjectReader) stringBytes() []byte {
	if r.bad || r.i >= len(r.data) || r.data[r.i] != '"' {
		r.bad = true
		return nil
	}
	start := r.i + 1
	ascii := true
	for i := start; i < len(r.data); i++ {
		c := r.data[i]
		if c == '"' {
			s := r.data[start:i]
			if !ascii && !utf8.Valid(s) {
				break // encoding/json replaces invalid UTF-8
			}
			r.i = i + 1
			return s
		}
		if c < ' ' || c == '\\' {
			break // invalid JSON, or an escape
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	r.bad = true
	return nil
}

// String reads a string value.
func (r *ObjectReader) String() string {
	return string(r.stringBytes())
}

// StringOf reads a string value and returns the one of known it equals,
// without a copy, or a copy if none does.
func (r *ObjectReader) StringOf(known ...string) string {
	b := r.stringBytes()
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return string(b)
}

// Bool reads true or false.
func (r *ObjectReader) Bool() bool {
	rest := r.data[min(r.i, len(r.data)):]
	switch {
	case r.bad:
	case len(rest) >= 4 && string(rest[:4]) == "true":
		r.i += 4
		return true
	case len(rest) >= 5 && string(rest[:5]) == "false":
		r.i += 5
		return false
	}
	r.bad = true
	return false
}

// digits reads an integer's digits (0, or no leading zero) as a uint64,
// failing past max.
func (r *ObjectReader) digits(max uint64) uint64 {
	i := r.i
	var v uint64
	for ; i < len(r.data) && !r.bad; i++ {
		c := r.data[i]
		if c < '0' || c > '9' {
			break
		}
		d := uint64(c - '0')
		if v > (max-d)/10 {
			r.bad = true
		}
		v = v*10 + d
		if v == 0 {
			i++ // 0 has no more digits; another one ends the object
			break
		}
	}
	if i == r.i {
		r.bad = true
	}
	r.i = i
	if r.bad {
		return 0
	}
	return v
}

// Uint reads an unsigned integer up to max, the largest value of the
// field's type.
func (r *ObjectReader) Uint(max uint64) uint64 {
	return r.digits(max)
}

// Int reads a signed 64-bit integer.
func (r *ObjectReader) Int() int64 {
	if r.bad || r.i >= len(r.data) {
		r.bad = true
		return 0
	}
	if r.data[r.i] != '-' {
		return int64(r.digits(math.MaxInt64))
	}
	r.i++
	// -(1<<63) is math.MinInt64 in two's complement.
	return -int64(r.digits(1 << 63))
}

// Time reads a time.Time value with its UnmarshalJSON, as encoding/json
// does.
func (r *ObjectReader) Time() time.Time {
	start := r.i
	var t time.Time
	if r.stringBytes(); !r.bad && t.UnmarshalJSON(r.data[start:r.i]) != nil {
		r.bad = true
	}
	return t
}

// Strings reads an array of strings or null: [] is an empty slice and
// null a nil one, as encoding/json reads a []string field.
func (r *ObjectReader) Strings() []string {
	if !r.bad && len(r.data)-r.i >= 4 && string(r.data[r.i:r.i+4]) == "null" {
		r.i += 4
		return nil
	}
	if r.bad || r.i >= len(r.data) || r.data[r.i] != '[' {
		r.bad = true
		return nil
	}
	r.i++
	// Count the strings first, for one allocation of the slice: without
	// escapes, every quote opens or closes one.
	quotes := 0
	for _, c := range r.data[r.i:] {
		if c == ']' && quotes%2 == 0 {
			break
		}
		if c == '"' {
			quotes++
		}
	}
	ss := make([]string, 0, quotes/2)
	for !r.bad && r.i < len(r.data) && r.data[r.i] != ']' {
		if len(ss) > 0 {
			if r.data[r.i] != ',' {
				r.bad = true
				break
			}
			r.i++
		}
		ss = append(ss, r.String())
	}
	if r.bad || r.i >= len(r.data) {
		r.bad = true
		return nil
	}
	r.i++
	return ss
}
