package node

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
)

// family is one metric family as /metrics shows it.
type family struct {
	name, typ, help string
	labels          map[string][]string // label name -> values seen, in order
}

// scrapeFamilies reads a node's /metrics in the text format: every
// family with its type, help and labels (le and quantile, which belong
// to the type, left out).
func scrapeFamilies(t *testing.T, url string) map[string]*family {
	t.Helper()
	st, body := get(t, url)
	if st != 200 {
		t.Fatalf("GET %s: %d", url, st)
	}
	fams := map[string]*family{}
	sample := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? `)
	label := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, help, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			fams[name] = &family{name: name, help: help, labels: map[string][]string{}}
		case strings.HasPrefix(line, "# TYPE "):
			name, typ, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if fams[name] == nil {
				fams[name] = &family{name: name, labels: map[string][]string{}}
			}
			fams[name].typ = typ
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			m := sample.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("unparsable /metrics line %q", line)
			}
			f := fams[m[1]]
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if f == nil {
					f = fams[strings.TrimSuffix(m[1], suffix)]
				}
			}
			if f == nil {
				t.Fatalf("sample %q of no family", line)
			}
			for _, l := range label.FindAllStringSubmatch(m[2], -1) {
				if l[1] == "le" || l[1] == "quantile" {
					continue
				}
				if !slices.Contains(f.labels[l[1]], l[2]) {
					f.labels[l[1]] = append(f.labels[l[1]], l[2])
				}
			}
		}
	}
	return fams
}

// Markers around the generated table in docs/operations.md.
const (
	metricsBegin = "<!-- metrics reference: begin -->"
	metricsEnd   = "<!-- metrics reference: end -->"
	metricsDoc   = "../docs/operations.md"
)

// docRow is one row of the reference: the series, its type, its label
// names and what it means.
type docRow struct {
	name, typ string
	labels    []string
	meaning   string
}

// readMetricsDoc returns the reference's rows, the text before and after
// the table.
func readMetricsDoc(t *testing.T) (rows map[string]docRow, before, after string) {
	t.Helper()
	b, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, metricsBegin), strings.Index(doc, metricsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q section", metricsDoc, metricsBegin, metricsEnd)
	}
	rows = map[string]docRow{}
	code := regexp.MustCompile("`([^`]+)`")
	for _, line := range strings.Split(doc[i+len(metricsBegin):j], "\n") {
		cells := strings.Split(line, " | ")
		if len(cells) != 4 || !strings.HasPrefix(line, "| `") {
			continue
		}
		r := docRow{typ: cells[1], meaning: strings.TrimSuffix(cells[3], " |")}
		if m := code.FindStringSubmatch(cells[0]); m != nil {
			r.name = m[1]
		}
		// The label cell names each label in backticks, then its values.
		for _, part := range strings.Split(cells[2], ";") {
			if m := code.FindStringSubmatch(part); m != nil {
				r.labels = append(r.labels, m[1])
			}
		}
		sort.Strings(r.labels)
		rows[r.name] = r
	}
	return rows, doc[:i+len(metricsBegin)], doc[j:]
}

// TestMetricsReference: docs/operations.md lists exactly the series a
// running node exports, with their types and label names. Run with
// NATTER_UPDATE_METRICS_DOC=1 to regenerate the table from /metrics (new
// rows take the metric's help text as their meaning; existing meanings
// stay).
func TestMetricsReference(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AdminListen = "127.0.0.1:0" })
	fams := scrapeFamilies(t, "http://"+tn.AdminAddr().String()+"/metrics")
	rows, before, after := readMetricsDoc(t)
	// The process collector reads /proc: other systems export fewer.
	skip := func(name string) bool { return runtime.GOOS != "linux" && strings.HasPrefix(name, "process_") }

	if os.Getenv("NATTER_UPDATE_METRICS_DOC") != "" {
		writeMetricsDoc(t, fams, rows, before, after)
		return
	}
	for name, f := range fams {
		r, ok := rows[name]
		if !ok {
			if !skip(name) {
				t.Errorf("%s (%s) is exported but not in %s's metrics reference", name, f.typ, metricsDoc)
			}
			continue
		}
		if r.typ != f.typ {
			t.Errorf("%s is a %s, the reference says %s", name, f.typ, r.typ)
		}
		if got := sortedKeys(f.labels); !slices.Equal(got, r.labels) {
			t.Errorf("%s has labels %q, the reference says %q", name, got, r.labels)
		}
		if strings.TrimSpace(r.meaning) == "" {
			t.Errorf("%s has no meaning in the reference", name)
		}
	}
	for name := range rows {
		if fams[name] == nil && !skip(name) {
			t.Errorf("the metrics reference lists %s, which the node does not export", name)
		}
	}
}

// writeMetricsDoc rewrites the reference table from the scraped families.
func writeMetricsDoc(t *testing.T, fams map[string]*family, rows map[string]docRow, before, after string) {
	names := make([]string, 0, len(fams))
	for name := range fams {
		names = append(names, name)
	}
	// natter's own series first, then Go's, then the process's.
	rank := func(n string) int {
		switch {
		case strings.HasPrefix(n, "natter_"):
			return 0
		case strings.HasPrefix(n, "go_"):
			return 1
		}
		return 2
	}
	sort.Slice(names, func(i, j int) bool {
		if ri, rj := rank(names[i]), rank(names[j]); ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	var b strings.Builder
	b.WriteString("\n| series | type | labels | meaning |\n| --- | --- | --- | --- |\n")
	for _, name := range names {
		f := fams[name]
		var labels []string
		for _, l := range sortedKeys(f.labels) {
			cell := "`" + l + "`"
			if vals := f.labels[l]; strings.HasPrefix(name, "natter_") && l != "version" && l != "revision" && l != "goversion" {
				cell += ": " + strings.Join(vals, ", ")
			}
			labels = append(labels, cell)
		}
		meaning := strings.ReplaceAll(f.help, "|", "\\|")
		if r, ok := rows[name]; ok && r.meaning != "" {
			meaning = r.meaning
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", name, f.typ, strings.Join(labels, "; "), meaning)
	}
	if err := os.WriteFile(metricsDoc, []byte(before+b.String()+after), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote %s with %d series", metricsDoc, len(names))
}
