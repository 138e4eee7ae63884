// Package jsontest checks hand-written JSON decoders against
// encoding/json, for the tests of the events the nodes send each other
// (node/presence, node/chat): such a decoder must read whatever it is
// given exactly as json.Unmarshal would.
package jsontest

import (
	"encoding/json"
	"reflect"
	"testing"
)

// CheckDecode fails t unless decode reads data into a zero T exactly as
// json.Unmarshal does, error text included.
func CheckDecode[T any](t testing.TB, data []byte, decode func([]byte, *T) error) {
	t.Helper()
	var got, want T
	err := decode(data, &got)
	wantErr := json.Unmarshal(data, &want)
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("%q: error %v, want %v", data, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %+v\nwant %+v", data, got, want)
	}
}

// BenchDecode measures decode against json.Unmarshal on data, as the
// sub-benchmarks decode/read and decode/encoding-json, allocations
// reported. Both decode into one value, zeroed before each decoding, so
// that the value itself, which a call through a func escapes, is not
// counted.
func BenchDecode[T any](b *testing.B, data []byte, decode func([]byte, *T) error) {
	var got, zero T
	b.Run("decode/read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got = zero
			_ = decode(data, &got)
		}
	})
	b.Run("decode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			got = zero
			_ = json.Unmarshal(data, &got)
		}
	})
}
