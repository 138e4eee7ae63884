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
			checkNew(t, seen, p)
		}
	}
}

// TestFree: n distinct ports, each free to bind.
func TestFree(t *testing.T) {
	ports := testport.Free(t, 5)
	if len(ports) != 5 {
		t.Fatalf("%d ports, want 5", len(ports))
	}
	seen := map[int]bool{}
	for _, p := range ports {
		checkNew(t, seen, p)
	}
}

// checkNew fails t if port p was chosen before or cannot be bound now.
func checkNew(t *testing.T, seen map[int]bool, p int) {
	t.Helper()
	if seen[p] {
		t.Fatalf("port %d chosen twice", p)
	}
	seen[p] = true
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatalf("bind chosen port %d: %v", p, err)
	}
	l.Close()
}
