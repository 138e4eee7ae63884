package testport_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/natterchat/natter/internal/testport"
)

// TestRuns: the runs are disjoint, consecutive, and free to bind once
// chosen.
func TestRuns(t *testing.T) {
	const k, n = 3, 4
	starts := testport.Runs(t, k, n)
	if len(starts) != k {
		t.Fatalf("%d runs, want %d", len(starts), k)
	}
	seen := map[int]bool{}
	for _, s := range starts {
		for p := s; p < s+n; p++ {
			if seen[p] {
				t.Fatalf("port %d in two runs: %v", p, starts)
			}
			seen[p] = true
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				t.Fatalf("bind chosen port %d: %v", p, err)
			}
			l.Close()
		}
	}
}

// TestFree: n distinct ports, each free to bind.
func TestFree(t *testing.T) {
	ports := testport.Free(t, 5)
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d twice: %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("bind chosen port %d: %v", p, err)
		}
		l.Close()
	}
}
