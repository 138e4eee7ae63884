//go:build !race

package wire

import (
	"fmt"
	"testing"
)

// Not under the race detector, as the other allocation guards.

// TestListPartsAllocs guards the join path's member list: its frame
// costs three allocations and about as many bytes whether its run holds
// ten guests or a thousand, the run's bytes being pointed at, not copied.
func TestListPartsAllocs(t *testing.T) {
	for _, guests := range []int{10, 1000} {
		l := MemberList{Room: "#haskell", Chat: "0f1c2b1e-8d4b-4c57-9d8e-2f4a3c1b7e90"}
		for i := range guests {
			l.Run.AppendOnline(fmt.Sprintf("b5eda4bd-a8f2-4d6f-81c5-%012d", i), fmt.Sprintf("guest-%d", i), "member")
		}
		allocs := testing.AllocsPerRun(100, func() {
			first, more := EncodeListParts(10, ChannelChatRoom, TypeMemberList, l)
			if len(first) == 0 || len(more) == 0 {
				t.Fatal("no frame")
			}
		})
		if allocs > 3 {
			t.Errorf("a list of %d guests: %.0f allocations, want at most 3 (the first part, the tail, the parts)", guests, allocs)
		}
	}
}
