package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// sample has a field of every type ObjectWriter and ObjectReader know,
// with and without omitempty.
type sample struct {
	S  string    `json:"s"`
	O  string    `json:"o,omitempty"`
	B  bool      `json:"b"`
	OB bool      `json:"ob,omitempty"`
	I  int64     `json:"i"`
	OI int64     `json:"oi,omitempty"`
	U  uint64    `json:"u"`
	V  uint32    `json:"v,omitempty"`
	T  time.Time `json:"t"`
	L  []string  `json:"l"`
	OL []string  `json:"ol,omitempty"`
}

// write writes x as ObjectWriter's callers do.
func (x *sample) write(b []byte) ([]byte, bool) {
	w := NewObjectWriter(b)
	w.String("s", x.S)
	if x.O != "" {
		w.String("o", x.O)
	}
	w.Bool("b", x.B)
	if x.OB {
		w.Bool("ob", x.OB)
	}
	w.Int("i", x.I)
	if x.OI != 0 {
		w.Int("oi", x.OI)
	}
	w.Uint("u", x.U)
	if x.V != 0 {
		w.Uint("v", uint64(x.V))
	}
	w.Time("t", x.T)
	w.Strings("l", x.L)
	if len(x.OL) > 0 {
		w.Strings("ol", x.OL)
	}
	return w.Close()
}

// read reads x as ObjectReader's callers do and reports whether the
// input had the canonical shape.
func (x *sample) read(data []byte) bool {
	r := NewObjectReader(data)
	if r.Field("s") {
		x.S = r.String()
	}
	if r.Field("o") {
		x.O = r.StringOf("room", "chat")
	}
	if r.Field("b") {
		x.B = r.Bool()
	}
	if r.Field("ob") {
		x.OB = r.Bool()
	}
	if r.Field("i") {
		x.I = r.Int()
	}
	if r.Field("oi") {
		x.OI = r.Int()
	}
	if r.Field("u") {
		x.U = r.Uint(math.MaxUint64)
	}
	if r.Field("v") {
		x.V = uint32(r.Uint(math.MaxUint32))
	}
	if r.Field("t") {
		x.T = r.Time()
	}
	if r.Field("l") {
		x.L = r.Strings()
	}
	if r.Field("ol") {
		x.OL = r.Strings()
	}
	return r.Done()
}

func randSample(r *rand.Rand) sample {
	ints := []int64{0, 1, -1, 9, 10, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, r.Int64(), -r.Int64()}
	uints := []uint64{0, 1, 10, math.MaxUint64, r.Uint64()}
	return sample{
		S: randString(r), O: randString(r), B: r.IntN(2) == 0, OB: r.IntN(2) == 0,
		I: ints[r.IntN(len(ints))], OI: ints[r.IntN(len(ints))],
		U: uints[r.IntN(len(uints))], V: uint32(uints[r.IntN(len(uints))]),
		T: randTime(r), L: randStrings(r), OL: randStrings(r),
	}
}

// TestObjectWriterMatchesEncodingJSON: an object written field by field
// is, byte for byte, what encoding/json writes for its struct.
func TestObjectWriterMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		x := randSample(r)
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := x.write([]byte("prefix"))
		if !ok || string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
			t.Fatalf("%+v:\n got %s (%v)\nwant %s", x, got, ok, want)
		}
	}
}

// TestObjectWriterRefusesWhatEncodingJSONRefuses: a time MarshalJSON
// cannot write fails the object, and only such a time.
func TestObjectWriterRefusesWhatEncodingJSONRefuses(t *testing.T) {
	base := time.Date(2026, 12, 3, 1, 2, 3, 4, time.UTC)
	for _, tc := range []time.Time{
		base,
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		base.In(time.FixedZone("", 23*3600+59*60)),
		base.In(time.FixedZone("", -23*3600-59*60-59)),
		base.In(time.FixedZone("", 24*3600)),
		base.In(time.FixedZone("", -24*3600)),
		base.In(time.FixedZone("", 100*3600)),
		base.In(time.FixedZone("", 5*3600+30*60+7)),
	} {
		x := sample{T: tc}
		want, err := json.Marshal(x)
		got, ok := x.write(nil)
		if ok != (err == nil) || ok && !bytes.Equal(got, want) {
			t.Errorf("%v: got %s (%v), want %s (%v)", tc, got, ok, want, err)
		}
	}
}
