// Package testport picks free 127.0.0.1 ports for tests that must name a
// port before the server that binds it starts: a cluster's route ports,
// which every member lists, or the flags of a node process. It is for
// tests only.
//
// A port the kernel hands out for ":0" is free when chosen but is back
// in the ephemeral range once the chooser closes it, where any outgoing
// connection of a test running alongside can take it before the server
// binds it. So testport chooses below that range, where only explicit
// binds go, and checks each port by binding it.
package testport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the lowest port testport picks: well above the ports of
// system services.
const lowest = 10000

// Free returns n distinct ports that were free on 127.0.0.1 when chosen.
func Free(t testing.TB, n int) []int {
	t.Helper()
	return Runs(t, n, 1)
}

// Runs returns the first ports of k runs of n consecutive ports that were
// free on 127.0.0.1 when chosen, the runs disjoint (natter cluster's
// --port and --route-port name runs).
func Runs(t testing.TB, k, n int) []int {
	t.Helper()
	top := ephemeralLow() - n
	if top <= lowest {
		t.Fatalf("testport: no room for runs of %d ports below the ephemeral range", n)
	}
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	var starts []int
	for attempt := 1; len(starts) < k; attempt++ {
		if attempt > 1000 {
			t.Fatalf("testport: no %d runs of %d free consecutive ports in 1000 attempts", k, n)
		}
		first := lowest + rand.IntN(top-lowest)
		run, ok := bindRun(first, n)
		held = append(held, run...)
		if ok {
			starts = append(starts, first)
		}
	}
	return starts
}

// bindRun binds ports first..first+n-1 while each is free and returns
// the listeners it got, and whether it got them all. They are held until
// Runs ends, so that later runs cannot overlap this one.
func bindRun(first, n int) ([]net.Listener, bool) {
	var run []net.Listener
	for p := first; p < first+n; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			return run, false
		}
		run = append(run, l)
	}
	return run, true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return low
}
