package node

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	dashboardFile = "../deploy/grafana/natter.json"
	alertsFile    = "../deploy/prometheus/natter-alerts.yml"
)

// seriesRef finds the node's series named in a PromQL expression.
var seriesRef = regexp.MustCompile(`\b(?:natter|go|process)_[a-zA-Z0-9_]+`)

// unknownSeries returns the series expr names that the node does not
// export (a histogram's _bucket, _sum and _count belong to it).
func unknownSeries(expr string, fams map[string]*family) []string {
	var bad []string
	for _, name := range seriesRef.FindAllString(expr, -1) {
		if fams[name] != nil {
			continue
		}
		known := false
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f := fams[strings.TrimSuffix(name, suffix)]; f != nil && name != f.name && (f.typ == "histogram" || f.typ == "summary") {
				known = true
			}
		}
		if !known {
			bad = append(bad, name)
		}
	}
	return bad
}

// dashPanel is what the test reads of a Grafana panel.
type dashPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []dashPanel `json:"panels"`
}

// TestDashboardAndAlerts loads the Grafana dashboard and the Prometheus
// alert rules the way their tools would read them and checks every
// expression against the series a running node exports.
func TestDashboardAndAlerts(t *testing.T) {
	tn := startNode(t, nil)
	fams := scrapeFamilies(t, tn.url("/metrics"))

	t.Run("dashboard", func(t *testing.T) {
		b, err := os.ReadFile(dashboardFile)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			Title         string      `json:"title"`
			UID           string      `json:"uid"`
			SchemaVersion int         `json:"schemaVersion"`
			Panels        []dashPanel `json:"panels"`
			Templating    struct {
				List []struct {
					Name string `json:"name"`
				} `json:"list"`
			} `json:"templating"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&dash); err != nil {
			t.Fatalf("%s does not parse: %v", dashboardFile, err)
		}
		if dash.Title == "" || dash.UID == "" || dash.SchemaVersion < 30 {
			t.Fatalf("dashboard title %q, uid %q, schemaVersion %d: want all set (schemaVersion >= 30)", dash.Title, dash.UID, dash.SchemaVersion)
		}
		vars := map[string]bool{"__rate_interval": true, "__interval": true, "__range": true}
		for _, v := range dash.Templating.List {
			vars[v.Name] = true
		}
		varRef := regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
		ids := map[int]bool{}
		var walk func([]dashPanel)
		exprs := 0
		walk = func(ps []dashPanel) {
			for _, p := range ps {
				if ids[p.ID] || p.ID == 0 {
					t.Errorf("panel %q: id %d missing or not unique", p.Title, p.ID)
				}
				ids[p.ID] = true
				if p.Title == "" || p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("panel %d %q: needs a title and a gridPos within 24 columns", p.ID, p.Title)
				}
				walk(p.Panels)
				if p.Type == "row" {
					continue
				}
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: datasource must be the ${datasource} variable", p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no queries", p.Title)
				}
				for _, tg := range p.Targets {
					exprs++
					if tg.Expr == "" || tg.RefID == "" {
						t.Errorf("panel %q: a target without expr or refId", p.Title)
					}
					if len(seriesRef.FindAllString(tg.Expr, -1)) == 0 {
						t.Errorf("panel %q: %q names no series of the node", p.Title, tg.Expr)
					}
					if bad := unknownSeries(tg.Expr, fams); len(bad) > 0 {
						t.Errorf("panel %q: %q uses %v, which the node does not export", p.Title, tg.Expr, bad)
					}
					for _, m := range varRef.FindAllStringSubmatch(tg.Expr, -1) {
						if !vars[m[1]] {
							t.Errorf("panel %q: %q uses $%s, which the dashboard does not define", p.Title, tg.Expr, m[1])
						}
					}
				}
			}
		}
		walk(dash.Panels)
		if exprs == 0 {
			t.Fatal("the dashboard has no queries")
		}
	})

	t.Run("alerts", func(t *testing.T) {
		b, err := os.ReadFile(alertsFile)
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Name  string `yaml:"name"`
				Rules []struct {
					Alert       string            `yaml:"alert"`
					Expr        string            `yaml:"expr"`
					For         string            `yaml:"for"`
					Labels      map[string]string `yaml:"labels"`
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&rules); err != nil {
			t.Fatalf("%s does not parse as rule groups: %v", alertsFile, err)
		}
		ops, err := os.ReadFile(metricsDoc)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" || r.Expr == "" || seen[r.Alert] {
					t.Errorf("group %s: a rule without alert or expr, or a repeated name %q", g.Name, r.Alert)
				}
				seen[r.Alert] = true
				if s := r.Labels["severity"]; s != "critical" && s != "warning" {
					t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
				}
				if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
					t.Errorf("%s: needs a summary and a description", r.Alert)
				}
				if bad := unknownSeries(r.Expr, fams); len(bad) > 0 {
					t.Errorf("%s: %q uses %v, which the node does not export", r.Alert, r.Expr, bad)
				}
				if !strings.Contains(string(ops), "`"+r.Alert+"`") {
					t.Errorf("%s is not described in %s", r.Alert, metricsDoc)
				}
			}
		}
		if len(seen) == 0 {
			t.Fatal("no alert rules")
		}
	})
}

// TestUnknownSeries checks the checker: a typo or a suffix of a counter
// is caught, a histogram's bucket is not.
func TestUnknownSeries(t *testing.T) {
	fams := map[string]*family{
		"natter_connections":         {name: "natter_connections", typ: "gauge"},
		"natter_publish_ack_seconds": {name: "natter_publish_ack_seconds", typ: "histogram"},
		"natter_frames_in_total":     {name: "natter_frames_in_total", typ: "counter"},
	}
	for expr, want := range map[string]string{
		`natter_connections{job="x"}`:                                   "",
		`rate(natter_publish_ack_seconds_bucket[5m])`:                   "",
		`rate(natter_conections[5m])`:                                   "natter_conections",
		`natter_frames_in_total_count + up`:                             "natter_frames_in_total_count",
		`histogram_quantile(0.99, rate(natter_publish_ack_second[1m]))`: "natter_publish_ack_second",
	} {
		if got := strings.Join(unknownSeries(expr, fams), ","); got != want {
			t.Errorf("unknownSeries(%q) = %q, want %q", expr, got, want)
		}
	}
}
