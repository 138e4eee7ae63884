package bench

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNewAxis(t *testing.T) {
	cases := []struct {
		name     string
		lo, hi   float64
		maxTicks int
		unit     axisUnit
		want     string
	}{
		{"seconds of a short run", 0, 4, 7, unitSeconds, "0|1 s|2 s|3 s|4 s"},
		{"seconds of a ten-second run", 0, 11, 7, unitSeconds, "0|2 s|4 s|6 s|8 s|10 s|12 s"},
		{"ten minutes", 0, 900, 7, unitSeconds, "0|5 min|10 min|15 min"},
		{"latency in ms", 0, 4.2, 6, unitMillis, "0|1 ms|2 ms|3 ms|4 ms|5 ms"},
		{"latency past a second", 0, 1180, 6, unitMillis, "0|0.5 s|1 s|1.5 s"},
		{"latency under a millisecond", 0, 0.35, 6, unitMillis, "0|100 µs|200 µs|300 µs|400 µs"},
		{"small latency", 0, 0.0421, 6, unitMillis, "0|10 µs|20 µs|30 µs|40 µs|50 µs"},
		{"rate in thousands", 0, 1180, 6, unitCount, "0|0.5k|1k|1.5k"},
		{"rate in millions", 0, 2.4e6, 6, unitCount, "0|0.5M|1M|1.5M|2M|2.5M"},
		{"a few", 0, 7, 6, unitCount, "0|2|4|6|8"},
		{"fractions", 0, 0.37, 6, unitPlain, "0|0.1|0.2|0.3|0.4"},
		{"a step too many for 0.2", 0, 1.1, 6, unitPlain, "0|0.5|1|1.5"},
		{"0.2 steps", 0, 1.1, 7, unitPlain, "0|0.2|0.4|0.6|0.8|1|1.2"},
		{"all zero", 0, 0, 6, unitMillis, "0|0.2 ms|0.4 ms|0.6 ms|0.8 ms|1 ms"},
		{"one positive value", 5, 5, 6, unitPlain, "0|1|2|3|4|5"},
		{"negative to positive", -3, 7, 6, unitPlain, "-5|0|5|10"},
		{"exactly on a tick", 0, 10, 6, unitPlain, "0|2|4|6|8|10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAxis(c.lo, c.hi, c.maxTicks, c.unit)
			if got := strings.Join(a.labels, "|"); got != c.want {
				t.Fatalf("labels %s, want %s (ticks %v)", got, c.want, a.ticks)
			}
			if len(a.ticks) > c.maxTicks+1 {
				t.Fatalf("%d ticks for at most %d", len(a.ticks), c.maxTicks)
			}
		})
	}
}

// TestAxisProperties: for ranges of every size, the ticks cover the
// data, rise strictly, are a 1-2-5 step apart, never exceed maxTicks,
// and their labels are distinct and never in exponent notation (the
// report's axes once read "0 1 2 2 3 4" and "1.18e+03").
func TestAxisProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	units := []axisUnit{unitPlain, unitMillis, unitCount, unitSeconds}
	for i := 0; i < 20000; i++ {
		hi := math.Pow(10, rng.Float64()*14-5) * rng.Float64()
		lo := 0.0
		if i%5 == 0 {
			lo = hi * rng.Float64()
		}
		maxTicks := 2 + rng.IntN(9)
		unit := units[i%len(units)]
		a := newAxis(lo, hi, maxTicks, unit)
		if len(a.ticks) < 2 || len(a.ticks) > maxTicks {
			t.Fatalf("[%g, %g] max %d: %d ticks %v", lo, hi, maxTicks, len(a.ticks), a.ticks)
		}
		if a.lo > lo+1e-12*math.Abs(hi) || a.hi < hi-1e-12*math.Abs(hi) {
			t.Fatalf("[%g, %g]: the axis spans [%g, %g]", lo, hi, a.lo, a.hi)
		}
		seen := map[string]bool{}
		for j, l := range a.labels {
			// No unit suffix has an "e": one in a label is an exponent.
			if seen[l] || strings.ContainsAny(l, "eE") {
				t.Fatalf("[%g, %g] unit %d: labels %q (ticks %v)", lo, hi, unit, a.labels, a.ticks)
			}
			seen[l] = true
			if j > 0 && a.ticks[j] <= a.ticks[j-1] {
				t.Fatalf("[%g, %g]: ticks %v do not rise", lo, hi, a.ticks)
			}
		}
	}
}

func TestNiceStep(t *testing.T) {
	for x, want := range map[float64]float64{0.7: 1, 1: 1, 1.01: 2, 3: 5, 7: 10, 0.013: 0.02, 240: 500, 0: 1} {
		if got := niceStep(x); math.Abs(got-want) > want*1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", x, got, want)
		}
	}
}

func TestNinesLabel(t *testing.T) {
	for n, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		if got := ninesLabel(n); got != want {
			t.Errorf("ninesLabel(%d) = %q, want %q", n, got, want)
		}
	}
}
