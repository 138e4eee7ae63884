package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestFloor: a small floor measurement writes what it was asked to and
// reports a CPU cost per write.
func TestFloor(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := RunFloor(ctx, FloorConfig{Conns: 20, Burst: 10, Rate: 20000, Writes: 2000, ReaderCPU: -1}, self)
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 2000 || res.Conns != 20 || res.CPUPerWrite <= 0 {
		t.Fatalf("floor = %+v", res)
	}
}

// TestP99Max: a run whose publish->deliver p99 is over --p99-max failed,
// one under it did not.
func TestP99Max(t *testing.T) {
	co := &coordinator{cfg: &Config{P99Max: 20 * time.Millisecond}}
	for _, c := range []struct {
		p99  float64
		fail bool
	}{{19.9, false}, {20, false}, {20.1, true}} {
		r := &Result{DeliverLatency: Latency{P99: c.p99}}
		co.problems(r, &Delivery{Sent: 1, Delivered: 1})
		if failed := !r.OK(); failed != c.fail {
			t.Errorf("p99 %.1f ms against 20ms: failed %v (%v), want %v", c.p99, failed, r.Problems, c.fail)
		}
	}
}
