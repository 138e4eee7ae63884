package node

import (
	"testing"
	"unsafe"
)

// TestConnectionStateSizes guards the size of the objects a node keeps per
// connection: each is one heap object, and crossing a Go size class
// (…, 128, 144, 160, …, 320, 352, …) costs every connection the
// difference, plus the fragmentation of a busier class. Measured at 15,000
// connections (docs/benchmarks.md); a field added here should take the
// place of one, or justify the bytes.
func TestConnectionStateSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"device (with its wsconn.Conn)", unsafe.Sizeof(device{}), 320},
		{"localUser", unsafe.Sizeof(localUser{}), 160},
		{"presenceUser", unsafe.Sizeof(presenceUser{}), 128},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d B, over its %d B size class", c.name, c.size, c.max)
		}
	}
}
