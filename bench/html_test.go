package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sampleResult is a report with the shapes that used to make bad axes: a
// four-second run (repeated tick labels) and more than a thousand
// deliveries a second (exponent labels).
func sampleResult() *Result {
	r := &Result{Scenario: "rooms", RunID: "t"}
	for s := 0; s <= 4; s++ {
		r.Timeline = append(r.Timeline, TimePoint{Second: s, Count: 1180 + int64(s)*10, P50: 1.2, P99: 4.8, Max: 1180})
		r.AckTimeline = append(r.AckTimeline, TimePoint{Second: s, Count: 118, P50: 0.8, P99: 2.5, Max: 9})
	}
	for _, p := range cdfPercentiles {
		r.CDF = append(r.CDF, CDFPoint{Percentile: p, Ms: 1 + p/10})
		r.AckCDF = append(r.AckCDF, CDFPoint{Percentile: p, Ms: 0.5 + p/20})
	}
	return r
}

// wellFormed parses b as XML to its end.
func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
	}
}

// TestChartsReadable renders the charts and reads their tick labels: no
// exponents, no label twice on one axis, units on the values.
func TestChartsReadable(t *testing.T) {
	dir := t.TempDir()
	if err := sampleResult().WriteSVG(dir, "x-"); err != nil {
		t.Fatal(err)
	}
	label := regexp.MustCompile(`<text x="[0-9.]+" y="[0-9.]+" text-anchor="(?:end|middle)">([^<]*)</text>`)
	for _, name := range SVGFiles {
		b, err := os.ReadFile(filepath.Join(dir, "x-"+name))
		if err != nil {
			t.Fatal(err)
		}
		wellFormed(t, name, b)
		if !bytes.HasPrefix(b, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox=`)) {
			t.Fatalf("%s does not start as a standalone SVG: %.80s", name, b)
		}
		var labels []string
		for _, m := range label.FindAllSubmatch(b, -1) {
			labels = append(labels, string(m[1]))
		}
		all := strings.Join(labels, "|")
		if strings.Contains(all, "e+") || strings.Contains(all, "e-0") {
			t.Errorf("%s: exponent in the labels %q", name, labels)
		}
		seen := map[string]int{}
		for _, l := range labels {
			seen[l]++
		}
		for l, n := range seen {
			// The axes' names are text-anchor middle too; a tick label
			// may appear once per axis.
			if n > 2 {
				t.Errorf("%s: label %q %d times in %q", name, l, n, labels)
			}
		}
		switch name {
		case "deliveries.svg":
			if !strings.Contains(all, "1k") || !strings.Contains(all, "4 s") {
				t.Errorf("%s: labels %q, want 1k on y and seconds on x", name, labels)
			}
		case "latency-timeline.svg":
			if !strings.Contains(all, "1 s") || !strings.Contains(all, "0.5 s") {
				t.Errorf("%s: labels %q, want a max of 1180 ms shown in s", name, labels)
			}
		case "latency-cdf.svg":
			if !strings.Contains(all, "99.9%") {
				t.Errorf("%s: labels %q, want nines", name, labels)
			}
		}
	}
	var page bytes.Buffer
	if err := sampleResult().WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(page.Bytes(), []byte("max-width:100%")) {
		t.Fatal("the page does not fit its charts to the width")
	}
}
