package bench

import (
	"math"
	"strconv"
	"strings"
)

// axisUnit says what an axis's values are, for scaling and labels.
type axisUnit int

const (
	unitPlain   axisUnit = iota // numbers as they are (seconds of a run)
	unitMillis                  // milliseconds: shown as µs, ms or s
	unitCount                   // counts and rates: shown with k or M
	unitSeconds                 // seconds: shown as s (or min past 10 min)
)

// axis is a scale with its ticks: values from 0 (or lo) to max map onto
// the plot, labels are the ticks' texts in a readable unit.
type axis struct {
	lo, hi float64   // the range the plot spans (the outer ticks)
	ticks  []float64 // tick positions, in the data's unit
	labels []string
}

// newAxis makes an axis covering [lo, hi] with at most maxTicks nice
// ticks (1, 2 or 5 times a power of ten, in the unit the labels show),
// labelled with as many decimals as the step needs and no more, so
// that no two labels repeat.
func newAxis(lo, hi float64, maxTicks int, unit axisUnit) axis {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	scale, suffix := unitScale(math.Max(math.Abs(lo), math.Abs(hi)), unit)
	slo, shi := lo/scale, hi/scale
	ticks, step := niceTicks(slo, shi, maxTicks)
	a := axis{lo: ticks[0] * scale, hi: ticks[len(ticks)-1] * scale}
	for _, t := range ticks {
		a.ticks = append(a.ticks, t*scale)
		label := formatTick(t, step)
		if label != "0" {
			label += suffix // a bare 0 reads the same in every unit
		}
		a.labels = append(a.labels, label)
	}
	return a
}

// unitScale picks the unit the labels show for values up to max: the
// divisor from the data's unit and the suffix.
func unitScale(max float64, unit axisUnit) (float64, string) {
	switch unit {
	case unitMillis:
		switch {
		case max >= 1000:
			return 1000, " s"
		case max > 0 && max < 1:
			return 0.001, " µs"
		}
		return 1, " ms"
	case unitCount:
		switch {
		case max >= 1e6:
			return 1e6, "M"
		case max >= 1e3:
			return 1e3, "k"
		}
		return 1, ""
	case unitSeconds:
		if max >= 600 {
			return 60, " min"
		}
		return 1, " s"
	}
	return 1, ""
}

// niceTicks returns ticks from at or below lo to at or above hi, a nice
// step apart (1, 2 or 5 times a power of ten), at most maxTicks of
// them (at least 2), and the step.
func niceTicks(lo, hi float64, maxTicks int) ([]float64, float64) {
	maxTicks = max(maxTicks, 2)
	if hi == lo {
		if hi == 0 {
			hi = 1
		} else {
			// One value: a range around it, starting at 0 for positive
			// data so that bars and lines keep their proportions.
			lo, hi = math.Min(0, lo), math.Max(0, hi)
		}
	}
	step := niceStep((hi - lo) / float64(maxTicks-1))
	for {
		first, last := math.Floor(lo/step), math.Ceil(hi/step)
		// A tick a rounding error past the data is the data's end.
		if (first+1)*step <= lo+step*1e-9 {
			first++
		}
		if (last-1)*step >= hi-step*1e-9 {
			last--
		}
		if int(last-first)+1 <= maxTicks {
			ticks := make([]float64, 0, int(last-first)+1)
			for i := first; i <= last; i++ {
				v := i * step
				if math.Abs(v) < step*1e-9 {
					v = 0 // no "-0"
				}
				ticks = append(ticks, v)
			}
			return ticks, step
		}
		step = niceStep(step * 1.5) // the next nice step up
	}
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	exp := math.Floor(math.Log10(x))
	pow := math.Pow(10, exp)
	f := x / pow
	switch {
	case f <= 1+1e-9:
		f = 1
	case f <= 2+1e-9:
		f = 2
	case f <= 5+1e-9:
		f = 5
	default:
		f = 10
	}
	return f * pow
}

// formatTick writes v with the decimals step needs (a 0.02 step two, a
// 10 step none), trailing zeros dropped ("1", "1.5"). Never an exponent.
func formatTick(v, step float64) string {
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
		// A step of 0.25 or 2.5e-3 needs one digit more than its power.
		if s := strconv.FormatFloat(step, 'f', decimals, 64); math.Abs(mustParse(s)-step) > step*1e-9 {
			decimals++
		}
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

func mustParse(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// ninesLabel names the percentile n nines up: 0 -> "0%", 1 -> "90%",
// 2 -> "99%", 3 -> "99.9%".
func ninesLabel(n int) string {
	switch {
	case n <= 0:
		return "0%"
	case n == 1:
		return "90%"
	case n == 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", n-2) + "%"
}
