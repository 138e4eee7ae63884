package bench

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestSampleSelf: a phase that keeps the process busy reads as CPU use,
// and one whose goroutines queue for the processor reads as scheduling
// delays, in rising quantiles.
func TestSampleSelf(t *testing.T) {
	before := sampleSelf()
	// Four spinners per processor queue on every machine, however many
	// cores it has, and each yields often: the runtime records only one
	// in eight scheduling transitions, so a few preemptions alone could
	// leave the histogram empty.
	var wg sync.WaitGroup
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	after := sampleSelf()
	if cpu := after.cpuSince(before); cpu <= 0 {
		t.Fatalf("CPU over a busy phase: %.1f%%, want more than 0", cpu)
	}
	q := after.schedQuantiles(before, 0.5, 0.99, 0.999)
	if q[2] <= 0 || q[0] > q[1] || q[1] > q[2] {
		t.Fatalf("scheduling delay quantiles %v: want rising and the last above 0", q)
	}
	if q := after.schedQuantiles(after, 0.5); q[0] != 0 {
		t.Fatalf("quantile of no delays: %v, want 0", q[0])
	}
	// A delay past the runtime's last bound reads as that bound, never
	// as +Inf (which JSON cannot carry from a worker process).
	inf := selfSample{sched: []uint64{0, 1}, buckets: []float64{0, 2, math.Inf(1)}}
	if q := inf.schedQuantiles(selfSample{sched: []uint64{0, 0}}, 0.99); q[0] != 2000 {
		t.Fatalf("quantile in the unbounded bucket: %v ms, want 2000", q[0])
	}
	var g GeneratorStats
	g.max(GeneratorStats{SendCPUPercent: 40, SchedP99Ms: 1, ConnectSchedP99Ms: 5})
	g.max(GeneratorStats{SendCPUPercent: 30, SchedP99Ms: 2, ConnectSchedP99Ms: 3})
	if g.SendCPUPercent != 40 || g.SchedP99Ms != 2 || g.ConnectSchedP99Ms != 5 {
		t.Fatalf("busiest of two workers: %+v", g)
	}
}
