// Package helm holds the test of the Helm chart in natter/. The machine
// that runs the tests has no helm binary, so the test renders the chart
// itself: Go's text/template (which Helm uses) with the few Helm and
// Sprig functions the chart calls, implemented here the way Helm's are.
// It then parses every object and checks what a working deployment
// needs.
package helm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

const chartDir = "natter"

// helmFuncs are the template functions the chart may use; a function
// outside this list fails the parse, so the chart stays renderable here.
func helmFuncs(include func(string, any) (string, error)) template.FuncMap {
	return template.FuncMap{
		"include": include,
		"required": func(msg string, v any) (any, error) {
			if empty(v) {
				return nil, errors.New(msg)
			}
			return v, nil
		},
		"default": func(def any, v ...any) any {
			if len(v) == 0 || empty(v[0]) {
				return def
			}
			return v[0]
		},
		"quote": func(v any) string {
			if v == nil {
				return `""`
			}
			return strconv.Quote(fmt.Sprint(v))
		},
		"toYaml": func(v any) (string, error) {
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
		"nindent": func(n int, s string) string { return "\n" + indent(n, s) },
		"indent":  indent,
		"trunc": func(n int, s string) string {
			if n >= 0 && len(s) > n {
				return s[:n]
			}
			return s
		},
		"trimSuffix": func(suffix, s string) string { return strings.TrimSuffix(s, suffix) },
		"until": func(n int) []int {
			out := make([]int, max(n, 0))
			for i := range out {
				out[i] = i
			}
			return out
		},
		"int": func(v any) (int, error) {
			switch x := v.(type) {
			case int:
				return x, nil
			case float64:
				return int(x), nil
			case string:
				return strconv.Atoi(x)
			}
			return 0, fmt.Errorf("int: cannot convert %T", v)
		},
		"b64enc": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"sha256sum": func(s string) string {
			h := sha256.Sum256([]byte(s))
			return hex.EncodeToString(h[:])
		},
	}
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

// empty is Sprig's notion of an empty value, which default and required
// use.
func empty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Bool:
		return !rv.Bool()
	case reflect.Int, reflect.Int64:
		return rv.Int() == 0
	case reflect.Float64:
		return rv.Float() == 0
	}
	return false
}

// readYAML parses one file of the chart into a map.
func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// merge overlays src onto dst, maps key by key, as helm --set does.
func merge(dst, src map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := out[k].(map[string]any); ok {
				out[k] = merge(dm, sm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// render renders the chart with values overriding values.yaml and
// returns every object by kind/name, and NOTES.txt.
func render(t *testing.T, overrides map[string]any) (map[string]map[string]any, string, error) {
	t.Helper()
	chart := readYAML(t, filepath.Join(chartDir, "Chart.yaml"))
	values := merge(readYAML(t, filepath.Join(chartDir, "values.yaml")), overrides)
	data := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": "natter", "Namespace": "chat", "Service": "Helm"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	var tpl *template.Template
	include := func(name string, v any) (string, error) {
		var b strings.Builder
		err := tpl.ExecuteTemplate(&b, name, v)
		return b.String(), err
	}
	tpl = template.New("chart").Option("missingkey=zero").Funcs(helmFuncs(include))
	files, err := filepath.Glob(filepath.Join(chartDir, "templates", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpl.New(filepath.Base(f)).Parse(string(b)); err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
	}
	objects := map[string]map[string]any{}
	var notes string
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") {
			continue
		}
		var out bytes.Buffer
		if err := tpl.ExecuteTemplate(&out, name, data); err != nil {
			return nil, "", fmt.Errorf("render %s: %w", name, err)
		}
		if name == "NOTES.txt" {
			notes = out.String()
			continue
		}
		dec := yaml.NewDecoder(&out)
		for {
			var obj map[string]any
			err := dec.Decode(&obj)
			if err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s renders invalid YAML: %v", name, err)
			}
			if obj == nil {
				continue
			}
			kind, _ := obj["kind"].(string)
			meta, _ := obj["metadata"].(map[string]any)
			if obj["apiVersion"] == nil || kind == "" || meta == nil || meta["name"] == nil {
				t.Fatalf("%s renders an object without apiVersion, kind or metadata.name: %v", name, obj)
			}
			key := kind + "/" + fmt.Sprint(meta["name"])
			if objects[key] != nil {
				t.Fatalf("%s: %s twice", name, key)
			}
			objects[key] = obj
		}
	}
	return objects, notes, nil
}

// dig follows a path of map keys and list indexes.
func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not a map: %v", k, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at [%d]: not a list that long: %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

// container returns the pod template's natter container of a workload.
func container(t *testing.T, w map[string]any) map[string]any {
	t.Helper()
	return dig(t, w, "spec", "template", "spec", "containers", 0).(map[string]any)
}

func args(t *testing.T, c map[string]any) []string {
	var out []string
	for _, a := range dig(t, c, "args").([]any) {
		out = append(out, a.(string))
	}
	return out
}

// checkPod checks what every natter pod needs: probes on /readyz and
// /healthz, the ports, the secret, the settings, the admin port.
func checkPod(t *testing.T, objs map[string]map[string]any, w map[string]any) {
	t.Helper()
	c := container(t, w)
	if p := dig(t, c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe on %v, want /readyz", p)
	}
	for _, probe := range []string{"livenessProbe", "startupProbe"} {
		if p := dig(t, c, probe, "httpGet", "path"); p != "/healthz" {
			t.Errorf("%s on %v, want /healthz", probe, p)
		}
	}
	ports := map[string]bool{}
	for _, p := range dig(t, c, "ports").([]any) {
		ports[p.(map[string]any)["name"].(string)] = true
	}
	if !ports["http"] || !ports["admin"] {
		t.Errorf("ports %v, want http and admin", ports)
	}
	a := strings.Join(args(t, c), " ")
	for _, want := range []string{"--listen=:8080", "--admin-listen=:9090", "--node-id=$(POD_NAME)", "--data-dir=/data"} {
		if !strings.Contains(a, want) {
			t.Errorf("args %q lack %s", a, want)
		}
	}
	cm := dig(t, c, "envFrom", 0, "configMapRef", "name")
	if objs["ConfigMap/"+fmt.Sprint(cm)] == nil {
		t.Errorf("envFrom names ConfigMap %v, which the chart does not make", cm)
	}
	grace := dig(t, w, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if grace <= 30 {
		t.Errorf("terminationGracePeriodSeconds %d: must be longer than the 30s drain", grace)
	}
	anns := dig(t, w, "spec", "template", "metadata", "annotations").(map[string]any)
	if anns["prometheus.io/port"] != "9090" || anns["prometheus.io/scrape"] != "true" {
		t.Errorf("pod annotations %v: want scraping of the admin port", anns)
	}
}

// TestChartEmbedded renders the default values: a StatefulSet of three
// pods whose embedded NATS servers route to each other through the
// headless Service.
func TestChartEmbedded(t *testing.T) {
	objs, notes, err := render(t, map[string]any{"secret": map[string]any{"secret": "0123456789abcdef0123"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"StatefulSet/natter", "Service/natter", "Service/natter-headless", "ConfigMap/natter", "Secret/natter", "PodDisruptionBudget/natter"} {
		if objs[key] == nil {
			t.Errorf("no %s among %v", key, keys(objs))
		}
	}
	if objs["Deployment/natter"] != nil {
		t.Error("a Deployment with embedded NATS")
	}
	st := objs["StatefulSet/natter"]
	if st == nil {
		t.FailNow()
	}
	if dig(t, st, "spec", "replicas") != 3 || dig(t, st, "spec", "podManagementPolicy") != "Parallel" || dig(t, st, "spec", "serviceName") != "natter-headless" {
		t.Errorf("StatefulSet spec %v", st["spec"])
	}
	checkPod(t, objs, st)
	a := strings.Join(args(t, container(t, st)), " ")
	routes := "--routes=nats://natter-0.natter-headless:6222,nats://natter-1.natter-headless:6222,nats://natter-2.natter-headless:6222"
	for _, want := range []string{routes, "--cluster-listen=0.0.0.0:6222", "--replicas=3"} {
		if !strings.Contains(a, want) {
			t.Errorf("args %q lack %s", a, want)
		}
	}
	if dig(t, st, "spec", "volumeClaimTemplates", 0, "spec", "resources", "requests", "storage") != "20Gi" {
		t.Error("no 20Gi volume claim")
	}
	hl := objs["Service/natter-headless"]
	if dig(t, hl, "spec", "clusterIP") != "None" || dig(t, hl, "spec", "publishNotReadyAddresses") != true {
		t.Errorf("headless Service spec %v: want clusterIP None and publishNotReadyAddresses", hl["spec"])
	}
	sel := dig(t, objs["Service/natter"], "spec", "selector").(map[string]any)
	podLabels := dig(t, st, "spec", "template", "metadata", "labels").(map[string]any)
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("the Service selects %s=%v, the pods are labelled %v", k, v, podLabels)
		}
	}
	if dig(t, objs["PodDisruptionBudget/natter"], "spec", "maxUnavailable") != 1 {
		t.Error("PDB maxUnavailable is not 1")
	}
	if s := dig(t, objs["Secret/natter"], "data", "secret"); s != base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123")) {
		t.Errorf("Secret data %v", s)
	}
	if !strings.Contains(notes, "statefulset/natter") {
		t.Errorf("NOTES.txt: %s", notes)
	}
}

// TestChartExternalNATS renders a Deployment against external NATS with
// an existing Secret.
func TestChartExternalNATS(t *testing.T) {
	objs, _, err := render(t, map[string]any{
		"nats":     map[string]any{"url": "nats://nats:4222"},
		"secret":   map[string]any{"existingSecret": "chat-secrets"},
		"replicas": 5,
		"settings": map[string]any{"NATTER_MAX_ROOMS_PER_USER": 500},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := objs["Deployment/natter"]
	if d == nil || objs["StatefulSet/natter"] != nil || objs["Secret/natter"] != nil {
		t.Fatalf("objects %v: want a Deployment, no StatefulSet, no Secret", keys(objs))
	}
	checkPod(t, objs, d)
	a := strings.Join(args(t, container(t, d)), " ")
	if !strings.Contains(a, "--nats-url=nats://nats:4222") || strings.Contains(a, "--routes") || strings.Contains(a, "--nats-listen") {
		t.Errorf("args %q", a)
	}
	if dig(t, d, "spec", "replicas") != 5 || dig(t, d, "spec", "strategy", "rollingUpdate", "maxUnavailable") != 0 {
		t.Errorf("Deployment spec %v", d["spec"])
	}
	if n := dig(t, container(t, d), "env", 1, "valueFrom", "secretKeyRef", "name"); n != "chat-secrets" {
		t.Errorf("secret from %v, want chat-secrets", n)
	}
	if v := dig(t, objs["ConfigMap/natter"], "data", "NATTER_MAX_ROOMS_PER_USER"); v != "500" {
		t.Errorf("setting rendered as %#v, want the string 500", v)
	}
}

// TestChartNeedsSecret: without a secret the chart refuses to render.
func TestChartNeedsSecret(t *testing.T) {
	if _, _, err := render(t, nil); err == nil || !strings.Contains(err.Error(), "secret.existingSecret or secret.secret") {
		t.Fatalf("render without a secret: %v", err)
	}
}

// TestChartSettingsExist: every natter flag and NATTER_ variable the
// chart sets is one docs/configuration.md documents (which its own test
// holds to the real flags).
func TestChartSettingsExist(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var used []string
	for _, f := range []string{"values.yaml", "templates/_helpers.tpl", "templates/configmap.yaml"} {
		b, err := os.ReadFile(filepath.Join(chartDir, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue // comments mention helm's own flags
			}
			used = append(used, regexp.MustCompile(`--[a-z][a-z-]+|NATTER_[A-Z_]+`).FindAllString(line, -1)...)
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %v", used)
	}
	for _, u := range used {
		if !bytes.Contains(doc, []byte("`"+u+"`")) {
			t.Errorf("the chart uses %s, which docs/configuration.md does not list", u)
		}
	}
}

// TestChartFiles: every YAML file of the chart parses, Chart.yaml has
// what helm requires.
func TestChartFiles(t *testing.T) {
	chart := readYAML(t, filepath.Join(chartDir, "Chart.yaml"))
	for _, k := range []string{"apiVersion", "name", "version", "appVersion"} {
		if chart[k] == nil || chart[k] == "" {
			t.Errorf("Chart.yaml has no %s", k)
		}
	}
	if chart["apiVersion"] != "v2" || chart["name"] != "natter" {
		t.Errorf("Chart.yaml: %v", chart)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(fmt.Sprint(chart["version"])) {
		t.Errorf("chart version %v is not SemVer", chart["version"])
	}
	readYAML(t, filepath.Join(chartDir, "values.yaml"))
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
