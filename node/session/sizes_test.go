package session

import (
	"testing"
	"unsafe"
)

// TestConnectionStateSizes guards the size of the object a node keeps per
// connection: the device with its fanout.Device and wsconn.Conn, one heap
// object. Crossing a Go size class (…, 288, 320, 352, …) costs every
// connection the difference, plus the fragmentation of a busier class.
// Measured at 15,000 connections (docs/benchmarks.md); a field added here
// should take the place of one, or justify the bytes.
func TestConnectionStateSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if size := unsafe.Sizeof(device{}); size > 320 {
		t.Errorf("device (with its fanout.Device and wsconn.Conn) is %d B, over its 320 B size class", size)
	}
}
