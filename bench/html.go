package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
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
	charts := r.charts()
	data.Timeline = template.HTML(charts[0].svg())
	data.Rate = template.HTML(charts[1].svg())
	data.CDF = template.HTML(charts[2].svg())
	if err := pageTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("bench: write html: %w", err)
	}
	return nil
}

// charts are the report's pictures: latency over time, deliveries per
// second and the latency distributions.
func (r *Result) charts() [3]chart {
	return [3]chart{
		{title: "publish→deliver latency, per second of the send phase", xLabel: "time into the send phase", yLabel: "latency",
			xUnit: unitSeconds, yUnit: unitMillis, series: []chartSeries{
				{"p50", "#1f77b4", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.P50 })},
				{"p99", "#d62728", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.P99 })},
				{"max", "#999999", timelinePoints(r.Timeline, func(p TimePoint) float64 { return p.Max })},
				{"ack p99", "#2ca02c", timelinePoints(r.AckTimeline, func(p TimePoint) float64 { return p.P99 })},
			}},
		{title: "deliveries per second", xLabel: "time into the send phase", yLabel: "deliveries/s",
			xUnit: unitSeconds, yUnit: unitCount, series: []chartSeries{
				{"deliveries", "#1f77b4", timelinePoints(r.Timeline, func(p TimePoint) float64 { return float64(p.Count) })},
			}},
		{title: "latency distribution (x: percentile on a log 'nines' scale)", xLabel: "percentile", yLabel: "latency",
			yUnit: unitMillis, nines: true, series: []chartSeries{
				{"publish→deliver", "#1f77b4", cdfPoints(r.CDF)},
				{"publish→ack", "#2ca02c", cdfPoints(r.AckCDF)},
			}},
	}
}

// SVGFiles are the names WriteSVG gives the charts, in its order.
var SVGFiles = [3]string{"latency-timeline.svg", "deliveries.svg", "latency-cdf.svg"}

// WriteSVG writes the report's charts as standalone SVG files into dir
// (created if needed), each file named prefix + one of SVGFiles.
func (r *Result) WriteSVG(dir, prefix string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bench: write svg: %w", err)
	}
	for i, c := range r.charts() {
		path := filepath.Join(dir, prefix+SVGFiles[i])
		if err := os.WriteFile(path, []byte(c.svg()+"\n"), 0o644); err != nil {
			return fmt.Errorf("bench: write svg: %w", err)
		}
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

// chart is one line chart: its title, axes' names and units, and series.
type chart struct {
	title, xLabel, yLabel string
	xUnit, yUnit          axisUnit
	nines                 bool // x is "nines" of a percentile (cdfPoints)
	series                []chartSeries
}

// The chart's size and margins, in SVG units. The SVG scales down to
// the width it is given (max-width: 100% in the page).
const (
	chartW, chartH                             = 720.0, 300.0
	marginL, marginR, marginT, marginB float64 = 64, 130, 30, 42
)

// svg draws the chart as a standalone SVG document (white background,
// so that it reads the same on dark pages), with nice ticks in readable
// units on both axes.
func (c chart) svg() string {
	maxX, maxY := 0.0, 0.0
	for _, s := range c.series {
		for _, p := range s.pts {
			maxX, maxY = math.Max(maxX, p.x), math.Max(maxY, p.y)
		}
	}
	var xa axis
	if c.nines {
		hi := math.Max(1, math.Ceil(maxX-1e-9))
		xa = axis{lo: 0, hi: hi}
		for n := 0; n <= int(hi); n++ {
			xa.ticks = append(xa.ticks, float64(n))
			xa.labels = append(xa.labels, ninesLabel(n))
		}
	} else {
		xa = newAxis(0, maxX, 7, c.xUnit)
	}
	ya := newAxis(0, maxY, 6, c.yUnit)
	sx := func(x float64) float64 { return marginL + (x-xa.lo)/(xa.hi-xa.lo)*(chartW-marginL-marginR) }
	sy := func(y float64) float64 { return chartH - marginB - (y-ya.lo)/(ya.hi-ya.lo)*(chartH-marginT-marginB) }
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`,
		chartW, chartH, chartW, chartH)
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>`)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="13">%s</text>`, marginL, esc(c.title))
	for i, y := range ya.ticks {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`,
			marginL, chartW-marginR, sy(y), sy(y), marginL-5, sy(y)+4, esc(ya.labels[i]))
	}
	for i, x := range xa.ticks {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.0f" y2="%.0f" stroke="#000"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`,
			sx(x), sx(x), chartH-marginB, chartH-marginB+4, sx(x), chartH-marginB+16, esc(xa.labels[i]))
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#000"/>`, marginL, chartH-marginB, chartW-marginR, chartH-marginB)
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#000"/>`, marginL, marginT, marginL, chartH-marginB)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`, (marginL+chartW-marginR)/2, chartH-6, esc(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%.0f" transform="rotate(-90 14 %.0f)" text-anchor="middle">%s</text>`,
		(marginT+chartH-marginB)/2, (marginT+chartH-marginB)/2, esc(c.yLabel))
	for i, s := range c.series {
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
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.TrimSpace(path.String()), s.color)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`,
			chartW-marginR+10, marginT+float64(i)*16, s.color, chartW-marginR+24, marginT+float64(i)*16+9, esc(s.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>natter-bench {{.R.Scenario}} {{.R.RunID}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;margin:1em auto;max-width:760px;padding:0 1em}pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}svg{display:block;max-width:100%;height:auto;margin:1em 0}.fail{color:#b00;font-weight:bold}</style>
</head><body>
<h1>natter-bench: {{.R.Scenario}}</h1>
{{if not .R.OK}}<p class="fail">FAILED: {{range .R.Problems}}{{.}}; {{end}}</p>{{end}}
<pre>{{.Table}}</pre>
{{.Timeline}}
{{.Rate}}
{{.CDF}}
</body></html>
`))
