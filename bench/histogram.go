package bench

import (
	"fmt"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds from 1 µs to 5 minutes.
const (
	histMin     = 1
	histMax     = int64(5 * time.Minute / time.Microsecond)
	histSigFigs = 3
	// windowSigFigs is the precision of the per-second windows of the
	// latency-over-time plot (10 %: enough for a plot, small to ship).
	windowSigFigs = 2
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFigs) }

func newWindowHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, windowSigFigs)
}

// recorder is one latency series: a whole-run histogram plus one small
// histogram per second since start, for the latency-over-time plot. It is
// safe for concurrent use; callers shard recorders to keep the lock cold.
type recorder struct {
	start time.Time // static

	mu      sync.Mutex
	all     *hdrhistogram.Histogram   // guarded by mu
	windows []*hdrhistogram.Histogram // guarded by mu; index = second since start
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start, all: newHist()}
}

// record adds one latency observed at now.
func (r *recorder) record(now time.Time, d time.Duration) {
	us := d.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	sec := int(now.Sub(r.start) / time.Second)
	if sec < 0 {
		sec = 0
	}
	r.mu.Lock()
	_ = r.all.RecordValue(us)
	for len(r.windows) <= sec {
		r.windows = append(r.windows, nil)
	}
	w := r.windows[sec]
	if w == nil {
		w = newWindowHist()
		r.windows[sec] = w
	}
	_ = w.RecordValue(us)
	r.mu.Unlock()
}

// series is a latency series in a form that crosses process boundaries
// (compressed HdrHistogram V2 encodings) and merges exactly.
type series struct {
	All     []byte   `json:"all,omitempty"`
	Windows [][]byte `json:"windows,omitempty"`
}

// merged collects series from many recorders and workers.
type merged struct {
	all     *hdrhistogram.Histogram
	windows []*hdrhistogram.Histogram
}

func newMerged() *merged { return &merged{all: newHist()} }

func (m *merged) addHist(h *hdrhistogram.Histogram, ws []*hdrhistogram.Histogram) {
	m.all.Merge(h)
	for len(m.windows) < len(ws) {
		m.windows = append(m.windows, nil)
	}
	for i, w := range ws {
		if w == nil {
			continue
		}
		if m.windows[i] == nil {
			m.windows[i] = newWindowHist()
		}
		m.windows[i].Merge(w)
	}
}

// addRecorder merges a local recorder.
func (m *merged) addRecorder(r *recorder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.addHist(r.all, r.windows)
}

// addSeries merges a series decoded from a worker.
func (m *merged) addSeries(s series) error {
	if len(s.All) == 0 {
		return nil
	}
	all, err := hdrhistogram.Decode(s.All)
	if err != nil {
		return fmt.Errorf("bench: decode histogram: %w", err)
	}
	ws := make([]*hdrhistogram.Histogram, len(s.Windows))
	for i, b := range s.Windows {
		if len(b) == 0 {
			continue
		}
		if ws[i], err = hdrhistogram.Decode(b); err != nil {
			return fmt.Errorf("bench: decode window histogram: %w", err)
		}
	}
	m.addHist(all, ws)
	return nil
}

// encode returns the merged series in its portable form.
func (m *merged) encode() (series, error) {
	var s series
	if m.all.TotalCount() == 0 {
		return s, nil
	}
	var err error
	if s.All, err = m.all.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
		return s, fmt.Errorf("bench: encode histogram: %w", err)
	}
	s.Windows = make([][]byte, len(m.windows))
	for i, w := range m.windows {
		if w == nil {
			continue
		}
		if s.Windows[i], err = w.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err != nil {
			return s, fmt.Errorf("bench: encode window histogram: %w", err)
		}
	}
	return s, nil
}

// Latency summarizes a latency histogram in milliseconds.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50Ms"`
	P90   float64 `json:"p90Ms"`
	P99   float64 `json:"p99Ms"`
	P999  float64 `json:"p999Ms"`
	Max   float64 `json:"maxMs"`
}

func ms(us int64) float64 { return float64(us) / 1000 }

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)),
		Max: ms(h.Max()),
	}
}

// TimePoint is one second of a latency series.
type TimePoint struct {
	Second int     `json:"second"`
	Count  int64   `json:"count"`
	P50    float64 `json:"p50Ms"`
	P99    float64 `json:"p99Ms"`
	Max    float64 `json:"maxMs"`
}

func (m *merged) timeline() []TimePoint {
	out := make([]TimePoint, 0, len(m.windows))
	for i, w := range m.windows {
		if w == nil || w.TotalCount() == 0 {
			out = append(out, TimePoint{Second: i})
			continue
		}
		out = append(out, TimePoint{Second: i, Count: w.TotalCount(),
			P50: ms(w.ValueAtQuantile(50)), P99: ms(w.ValueAtQuantile(99)), Max: ms(w.Max())})
	}
	return out
}

// CDFPoint is one point of a latency distribution: Percentile % of the
// observations took at most Ms.
type CDFPoint struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}

// cdfPercentiles are spaced for a log-scaled "nines" axis.
var cdfPercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}

func (m *merged) cdf() []CDFPoint {
	if m.all.TotalCount() == 0 {
		return nil
	}
	out := make([]CDFPoint, 0, len(cdfPercentiles))
	for _, p := range cdfPercentiles {
		v := m.all.ValueAtQuantile(p)
		if p == 100 {
			v = m.all.Max()
		}
		out = append(out, CDFPoint{Percentile: p, Ms: ms(v)})
	}
	return out
}
