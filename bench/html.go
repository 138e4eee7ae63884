package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes a self-contained HTML page (inline SVG, no scripts)
// with the report table, latency over time and the latency CDFs.
func (r *Result) WriteHTML(w io.Writer) error {
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		return err
	}
	data := struct {
		R                   *Result
		Table               string
		Timeline, CDF, Rate template.HTML
	}{R: r, Table: table.String()}
	data.Timeline = lineChart("publish->deliver latency per second (ms)", "second of the send phase", "ms", false,
		[]chartSeries{
			{"p50", "#1f77b4", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.P50 })},
			{"p99", "#d62728", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.P99 })},
			{"max", "#999999", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.Max })},
			{"ack p99", "#2ca02c", timelinePoints(r.AckTimeline, func(p TimePoint) float64 { return p.P99 })},
		})
	data.Rate = lineChart("deliveries per second", "second of the send phase", "deliveries/s", false,
		[]chartSeries{{"deliveries", "#1f77b4", timelinePoints(r.Timeline, func(p TimePoint) float64 { return float64(p.Count) })}})
	data.CDF = lineChart("latency CDF (x: percentile, log 'nines' scale)", "percentile", "ms", true,
		[]chartSeries{{"publish->deliver", "#1f77b4", cdfPoints(r.CDF)}, {"publish->ack", "#2ca02c", cdfPoints(r.AckCDF)}})
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("bench: write html: %w", err)
	}
	return nil
}

type point struct{ x, y float64 }

type chartSeries struct {
	name, color string
	pts         []point
}

func timelinePoints(tl []TimePoint, f func(TimePoint) float64) []point {
	pts := make([]point, 0, len(tl))
	for _, p := range tl {
		if p.Count > 0 {
			pts = append(pts, point{float64(p.Second), f(p)})
		}
	}
	return pts
}

// cdfPoints maps percentile p to -log10(1-p/100) ("nines").
func cdfPoints(c []CDFPoint) []point {
	pts := make([]point, 0, len(c))
	for _, p := range c {
		if p.Percentile >= 100 {
			continue
		}
		pts = append(pts, point{-math.Log10(1 - p.Percentile/100), p.Ms})
	}
	return pts
}

// lineChart draws series as an inline SVG line chart.
func lineChart(title, xLabel, yLabel string, nines bool, ss []chartSeries) template.HTML {
	const W, H, L, R, T, B = 720.0, 300.0, 60.0, 110.0, 30.0, 40.0
	maxX, maxY := 1.0, 1.0
	for _, s := range ss {
		for _, p := range s.pts {
			maxX, maxY = math.Max(maxX, p.x), math.Max(maxY, p.y)
		}
	}
	maxY *= 1.05
	sx := func(x float64) float64 { return L + x/maxX*(W-L-R) }
	sy := func(y float64) float64 { return H - B - y/maxY*(H-T-B) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`, W, H)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13">%s</text>`, L, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#000"/>`, L, H-B, W-R, H-B)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#000"/>`, L, T, L, H-B)
	for i := 0; i <= 4; i++ {
		y := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%.3g</text><line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#eee"/>`,
			L-4, sy(y)+4, y, L, W-R, sy(y), sy(y))
	}
	if nines {
		for n := 0.0; n <= maxX; n++ {
			label := fmt.Sprintf("%g%%", 100*(1-math.Pow(10, -n)))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, sx(n), H-B+14, label)
		}
	} else {
		for i := 0; i <= 5; i++ {
			x := maxX * float64(i) / 5
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%.0f</text>`, sx(x), H-B+14, x)
		}
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`, (L+W-R)/2, H-6, template.HTMLEscapeString(xLabel))
	fmt.Fprintf(&b, `<text x="12" y="%.0f" transform="rotate(-90 12 %.0f)" text-anchor="middle">%s</text>`, (T+H-B)/2, (T+H-B)/2, template.HTMLEscapeString(yLabel))
	for i, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		var path strings.Builder
		for j, p := range s.pts {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%.1f,%.1f ", cmd, sx(p.x), sy(p.y))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, path.String(), s.color)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`,
			W-R+10, T+float64(i)*16, s.color, W-R+24, T+float64(i)*16+9, template.HTMLEscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>natter-bench {{.R.Scenario}} {{.R.RunID}}</title>
<style>body{font-family:sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}.fail{color:#b00;font-weight:bold}</style>
</head><body>
<h1>natter-bench: {{.R.Scenario}}</h1>
{{if not .R.OK}}<p class="fail">FAILED: {{range .R.Problems}}{{.}}; {{end}}</p>{{end}}
<pre>{{.Table}}</pre>
{{.Timeline}}
{{.Rate}}
{{.CDF}}
</body></html>
`))
