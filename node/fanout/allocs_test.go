//go:build !race

package fanout

import "testing"

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

// TestFanoutAllocationsDoNotGrowWithRecipients guards the hot path: the
// fan-out encodes a message once and queues the same frame to every
// device, so its allocations are the same for 10 and 200 recipients.
func TestFanoutAllocationsDoNotGrowWithRecipients(t *testing.T) {
	small := newFanoutRig(t, 10)
	big := newFanoutRig(t, 200)
	for range 50 { // grow the scratch slices and queues once
		small.fanout()
		big.fanout()
	}
	a10 := testing.AllocsPerRun(200, small.fanout)
	a200 := testing.AllocsPerRun(200, big.fanout)
	t.Logf("allocations per fan-out: %v with 10 recipients, %v with 200", a10, a200)
	// One allocation per recipient would add 190; queue and run-queue
	// slices growing now and then under load add a few at most.
	if a200 > a10+10 {
		t.Fatalf("fan-out allocates per recipient: %v allocations for 10, %v for 200", a10, a200)
	}
}

// TestNoticeBatchAllocationsDoNotGrowWithRecipients guards a storm's
// notices: a batch of events is encoded once and every member owed all
// of it gets the same frame, so a batch's flush allocates the same for
// 10 and 200 members.
func TestNoticeBatchAllocationsDoNotGrowWithRecipients(t *testing.T) {
	small := newFanoutRig(t, 10)
	big := newFanoutRig(t, 200)
	for range 50 {
		small.notices(10)
		big.notices(10)
	}
	a10 := testing.AllocsPerRun(200, func() { small.notices(10) })
	a200 := testing.AllocsPerRun(200, func() { big.notices(10) })
	t.Logf("allocations per batch of 10 events: %v with 10 members, %v with 200", a10, a200)
	if a200 > a10+10 {
		t.Fatalf("a batch's flush allocates per member: %v allocations for 10, %v for 200", a10, a200)
	}
}
