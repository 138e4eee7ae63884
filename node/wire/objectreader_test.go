package wire

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// checkRead fails t if ObjectReader accepts data and reads anything but
// what json.Unmarshal reads from it, and reports whether it accepted.
func checkRead(t *testing.T, data []byte) bool {
	t.Helper()
	var got, want sample
	fast := got.read(data)
	err := json.Unmarshal(data, &want)
	if fast && err != nil {
		t.Fatalf("%s: read, but encoding/json refuses it: %v", data, err)
	}
	if fast && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n read %+v\n want %+v", data, got, want)
	}
	return fast
}

// TestObjectReaderReadsWhatObjectWriterWrites: the canonical shape is
// read without encoding/json whenever it has no escape, and as
// encoding/json reads it.
func TestObjectReaderReadsWhatObjectWriterWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	fast := 0
	for range 20000 {
		x := randSample(r)
		if r.IntN(2) == 0 {
			x.T = x.T.UTC()
		}
		data, _ := x.write(nil)
		if !checkRead(t, data) {
			if !bytes.Contains(data, []byte{'\\'}) {
				t.Fatalf("%s: not read, with no escape", data)
			}
			continue
		}
		fast++
		if x.T.Location() == time.UTC {
			var got sample
			got.read(data)
			if len(x.OL) == 0 {
				x.OL = nil
			}
			if !reflect.DeepEqual(got, x) {
				t.Fatalf("%s:\n read %+v\n want %+v", data, got, x)
			}
		}
	}
	if fast < 500 { // most have an escape somewhere
		t.Fatalf("only %d of 20000 objects read without encoding/json", fast)
	}
}

// readSeeds are canonical objects and near misses of every kind.
var readSeeds = []string{
	`{}`,
	`{"s":"a","b":true,"i":-5,"u":7,"t":"2026-12-03T01:02:03.000000004Z","l":["x","y"]}`,
	`{"s":"é🎉` + "\u2028" + `<>&","o":"room","b":false,"ob":true,"i":0,"oi":9223372036854775807,"u":18446744073709551615,"v":4294967295,"t":"2026-12-03T01:02:03Z","l":[],"ol":["a"]}`,
	`{"s":"a","o":"other"}`,
	`{"t":"2026-12-03T01:02:03+05:30"}`,
	`{"t":"2026-12-03T01:02:03.5-23:59"}`,
	`{"l":null}`,
	// Not canonical: encoding/json decides.
	`{"s":"a\"b"}`,
	`{"s":"a\u00e9"}`,
	`{"s":"\xff"}`,
	`{"s":"\xed\xa0\x80"}`,
	"{\"s\":\"a\x01\"}",
	`{"S":"a"}`,
	`{"b":true,"s":"a"}`,
	`{"s":"a","s":"b"}`,
	`{"x":1}`,
	`{ "s":"a"}`,
	`{"s" :"a"}`,
	`{"s":"a"} `,
	` {"s":"a"}`,
	`{"s":"a"}x`,
	`{"s":"a",}`,
	`{"s":null}`,
	`{"b":null}`,
	`{"b":tru}`,
	`{"b":truex}`,
	`{"b":1}`,
	`{"i":01}`,
	`{"i":-0}`,
	`{"i":-}`,
	`{"i":1.5}`,
	`{"i":1e3}`,
	`{"i":9223372036854775808}`,
	`{"i":-9223372036854775808}`,
	`{"i":-9223372036854775809}`,
	`{"u":-1}`,
	`{"u":18446744073709551616}`,
	`{"v":4294967296}`,
	`{"i":"1"}`,
	`{"t":null}`,
	`{"t":""}`,
	`{"t":"2026-12-03"}`,
	`{"t":"2026-12-03T01:02:03+24:00"}`,
	`{"t":"10000-01-01T00:00:00Z"}`,
	`{"l":null}`,
	`{"l":nul}`,
	`{"l":nullx}`,
	`{"ol":null}`,
	`{"l":[,]}`,
	`{"l":["a",]}`,
	`{"l":["a""b"]}`,
	`{"l":["a",1]}`,
	`{"l":["]","a"]}`,
	`{"l":["a"`,
	`{"s":"a"`,
	`{"s":`,
	`{"s`,
	`{`,
	`}`,
	`[]`,
	`null`,
	``,
}

// FuzzObjectReader: whatever the input, ObjectReader reads nothing but
// what encoding/json reads from it.
func FuzzObjectReader(f *testing.F) {
	for _, s := range readSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRead(t, data)
	})
}

// TestObjectReaderSeeds: the canonical seeds are read without
// encoding/json.
func TestObjectReaderSeeds(t *testing.T) {
	for _, s := range readSeeds[:7] {
		if !checkRead(t, []byte(s)) {
			t.Errorf("%s: not read", s)
		}
	}
}
