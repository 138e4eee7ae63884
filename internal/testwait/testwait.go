// Package testwait is the tests' one way to wait for eventual state:
// poll a check until it passes or a deadline passes (the pattern of
// nats-server's checkFor). It is for tests only.
package testwait

import (
	"testing"
	"time"
)

// For polls f every `every` until it returns nil, and fails t with f's
// last error if timeout passes first. f runs at least once.
func For(t testing.TB, timeout, every time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(every)
	}
}
