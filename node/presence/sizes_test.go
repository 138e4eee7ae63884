package presence

import (
	"testing"
	"unsafe"
)

// TestUserSize guards the view's per-user object: there is one per online
// user a node shares a chat with, so crossing its Go size class (128 B)
// costs every node that much per such user.
func TestUserSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	if size := unsafe.Sizeof(user{}); size > 128 {
		t.Errorf("presence user is %d B, over its 128 B size class", size)
	}
}
