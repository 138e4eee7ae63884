package bench

import (
	"math"
	"os"
	"runtime/metrics"
	"time"
)

// GeneratorStats is the load generator's own load, read by each worker
// process about itself: a generator near its core's limit sets the rate
// of a connect phase instead of the nodes, and one that is slow to run
// its readers adds its own delay to every latency it records (a frame
// that arrived while its reader waited for the processor is timed late
// by that wait). In a Result, each figure is the busiest worker's.
type GeneratorStats struct {
	// ConnectCPUPercent and SendCPUPercent are the worker process's CPU
	// use (100 = one core) over the connect phase and the send phase.
	ConnectCPUPercent float64 `json:"connectCpuPercent,omitempty"`
	SendCPUPercent    float64 `json:"sendCpuPercent,omitempty"`
	// SchedP50Ms, SchedP99Ms and SchedP999Ms are quantiles of the time
	// the worker's goroutines spent runnable before they ran, during the
	// send phase (the Go runtime's /sched/latencies:seconds, to the upper
	// bound of its bucket).
	SchedP50Ms  float64 `json:"schedP50Ms,omitempty"`
	SchedP99Ms  float64 `json:"schedP99Ms,omitempty"`
	SchedP999Ms float64 `json:"schedP999Ms,omitempty"`
	// ConnectSchedP50Ms, ConnectSchedP99Ms and ConnectSchedP999Ms are
	// the same quantiles over the connect phase: a dial waits for the
	// processor at each step (connected, head written, answer read), so
	// these add to its handshake time several times over.
	ConnectSchedP50Ms  float64 `json:"connectSchedP50Ms,omitempty"`
	ConnectSchedP99Ms  float64 `json:"connectSchedP99Ms,omitempty"`
	ConnectSchedP999Ms float64 `json:"connectSchedP999Ms,omitempty"`
	// ReadWaitP50Ms, ReadWaitP99Ms and ReadWaitP999Ms are quantiles of
	// how long the sockets' data waited for the worker's reader after the
	// kernel reported it, during the send phase (readWaits; Linux only),
	// and the ConnectReadWait ones over the connect phase.
	ReadWaitP50Ms         float64 `json:"readWaitP50Ms,omitempty"`
	ReadWaitP99Ms         float64 `json:"readWaitP99Ms,omitempty"`
	ReadWaitP999Ms        float64 `json:"readWaitP999Ms,omitempty"`
	ConnectReadWaitP50Ms  float64 `json:"connectReadWaitP50Ms,omitempty"`
	ConnectReadWaitP99Ms  float64 `json:"connectReadWaitP99Ms,omitempty"`
	ConnectReadWaitP999Ms float64 `json:"connectReadWaitP999Ms,omitempty"`
}

// max keeps, figure by figure, the larger of s and o.
func (s *GeneratorStats) max(o GeneratorStats) {
	s.ConnectCPUPercent = max(s.ConnectCPUPercent, o.ConnectCPUPercent)
	s.SendCPUPercent = max(s.SendCPUPercent, o.SendCPUPercent)
	s.SchedP50Ms = max(s.SchedP50Ms, o.SchedP50Ms)
	s.SchedP99Ms = max(s.SchedP99Ms, o.SchedP99Ms)
	s.SchedP999Ms = max(s.SchedP999Ms, o.SchedP999Ms)
	s.ConnectSchedP50Ms = max(s.ConnectSchedP50Ms, o.ConnectSchedP50Ms)
	s.ConnectSchedP99Ms = max(s.ConnectSchedP99Ms, o.ConnectSchedP99Ms)
	s.ConnectSchedP999Ms = max(s.ConnectSchedP999Ms, o.ConnectSchedP999Ms)
	s.ReadWaitP50Ms = max(s.ReadWaitP50Ms, o.ReadWaitP50Ms)
	s.ReadWaitP99Ms = max(s.ReadWaitP99Ms, o.ReadWaitP99Ms)
	s.ReadWaitP999Ms = max(s.ReadWaitP999Ms, o.ReadWaitP999Ms)
	s.ConnectReadWaitP50Ms = max(s.ConnectReadWaitP50Ms, o.ConnectReadWaitP50Ms)
	s.ConnectReadWaitP99Ms = max(s.ConnectReadWaitP99Ms, o.ConnectReadWaitP99Ms)
	s.ConnectReadWaitP999Ms = max(s.ConnectReadWaitP999Ms, o.ConnectReadWaitP999Ms)
}

// selfSample is a reading of this process's CPU time and scheduling
// delays, taken at the start and the end of a phase.
type selfSample struct {
	at      time.Time
	proc    procSample
	procOK  bool // proc could be read
	sched   []uint64
	buckets []float64
}

// sampleSelf reads this process. With --workers 1 the worker is the
// natter-bench process itself, coordinator included.
func sampleSelf() selfSample {
	s := selfSample{at: time.Now()}
	if p, err := readProc(os.Getpid()); err == nil {
		s.proc, s.procOK = p, true
	}
	m := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(m)
	if m[0].Value.Kind() == metrics.KindFloat64Histogram {
		h := m[0].Value.Float64Histogram()
		s.sched, s.buckets = append([]uint64(nil), h.Counts...), h.Buckets
	}
	return s
}

// cpuSince is the process's CPU use between before and s.
func (s selfSample) cpuSince(before selfSample) float64 {
	if !s.procOK || !before.procOK {
		return 0
	}
	return cpuPercent(before.proc, s.proc, s.at.Sub(before.at).Seconds())
}

// schedQuantiles returns the quantiles qs of the scheduling delays
// between before and s, in milliseconds, each the upper bound of the
// runtime's bucket it falls in (its lower bound for the last, unbounded
// bucket; zeros when there were none).
func (s selfSample) schedQuantiles(before selfSample, qs ...float64) []float64 {
	if len(s.sched) == 0 || len(before.sched) != len(s.sched) {
		return make([]float64, len(qs))
	}
	return bucketQuantiles(before.sched, s.sched, func(i int) float64 {
		b := s.buckets[i+1]
		if math.IsInf(b, 1) {
			b = s.buckets[i]
		}
		return b * 1e3
	}, qs...)
}

// bucketQuantiles returns the quantiles qs of the counts added to a
// bucketed histogram between the snapshots before and after (of the same
// length), each as bound(i) of the bucket i it falls in; zeros when
// nothing was added.
func bucketQuantiles(before, after []uint64, bound func(i int) float64, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	diff := make([]uint64, len(after))
	var total uint64
	for i := range after {
		diff[i] = after[i] - before[i]
		total += diff[i]
	}
	if total == 0 {
		return out
	}
	for j, q := range qs {
		want := uint64(q * float64(total))
		var acc uint64
		for i, c := range diff {
			acc += c
			if acc > want {
				out[j] = bound(i)
				break
			}
		}
	}
	return out
}
