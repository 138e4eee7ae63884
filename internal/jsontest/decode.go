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
