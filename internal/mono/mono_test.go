package mono

import (
	"testing"
	"time"
)

// TestNowAdvances: readings never go back and follow the wall of a sleep.
func TestNowAdvances(t *testing.T) {
	a := Now()
	time.Sleep(2 * time.Millisecond)
	b := Now()
	if a < 0 || b-a < 2*time.Millisecond {
		t.Fatalf("readings %v then %v around a 2ms sleep", a, b)
	}
}
