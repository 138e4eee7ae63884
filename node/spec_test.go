package node

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi/datamodel"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/natterchat/natter/node/wire"
)

// TestSpec keeps docs/openapi.yaml and docs/schemas from drifting: every
// route of the node has its path and every path its route, every frame
// type of wire.Frames its schema and every schema its frame type, every
// error code its place in the specs' enums; then it calls every route and
// sends and receives every frame type on one real node, validating each
// answer and frame against the specs.
func TestSpec(t *testing.T) {
	s := loadSpecs(t)
	tn := startNode(t, func(c *Config) { c.Pprof = true })

	t.Run("document", func(t *testing.T) { testSpecDocument(t, s) })
	t.Run("routes", func(t *testing.T) { testSpecRoutes(t, s, tn) })
	t.Run("frame types", func(t *testing.T) { testSpecFrameTypes(t, s) })
	t.Run("error codes", func(t *testing.T) { testSpecErrorCodes(t, s) })
	var users []account // registered by the http steps, for the websocket ones: bcrypt is slow under -race
	calls := t.Run("http", func(t *testing.T) { users = testSpecHTTP(t, s, tn) })
	frames := t.Run("websocket", func(t *testing.T) {
		if len(users) < 3 {
			t.Skip("http failed")
		}
		testSpecFrames(t, s, tn, users[0], users[1], users[2])
	})
	t.Run("coverage", func(t *testing.T) {
		if !calls || !frames {
			t.Skip("http or websocket failed")
		}
		testSpecCoverage(t, s, tn)
	})
}

// operations are the operation keys of an OpenAPI path item.
var operations = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// testSpecDocument checks docs/openapi.yaml itself: it is an OpenAPI 3.1
// document (the official schema of the OpenAPI Initiative, as libopenapi
// embeds it), every schema in it is JSON Schema 2020-12, and what neither
// reaches: every $ref resolves, every path parameter is declared, every
// operation has a unique operationId, responses and known security
// schemes, and every example matches its schema.
func testSpecDocument(t *testing.T, s *specs) {
	oas, err := jsonschema.UnmarshalJSON(strings.NewReader(datamodel.OpenAPI31SchemaData))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const oasURL = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
	if err := c.AddResource(oasURL, oas); err != nil {
		t.Fatal(err)
	}
	if err := c.MustCompile(oasURL).Validate(s.api); err != nil {
		t.Errorf("docs/openapi.yaml is not a valid OpenAPI 3.1 document: %v", err)
	}

	var walk func(v any, at []string)
	walk = func(v any, at []string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if target, _ := s.resolve(v, at); target == nil {
					t.Errorf("docs/openapi.yaml %s: $ref %s resolves to nothing", strings.Join(at, "."), ref)
				}
			}
			if len(at) > 0 && at[len(at)-1] == "schema" || len(at) == 3 && at[0] == "components" && at[1] == "schemas" {
				s.compile(t, s.apiURL+"#"+pointer(at...)) // fails on a schema that is not JSON Schema 2020-12
			}
			for k, e := range v {
				walk(e, append(slices.Clip(at), k))
			}
		case []any:
			for i, e := range v {
				walk(e, append(slices.Clip(at), strconv.Itoa(i)))
			}
		}
	}
	walk(s.api, nil)

	schemes, _ := s.api["components"].(map[string]any)["securitySchemes"].(map[string]any)
	checkSecurity := func(where string, v any) {
		list, _ := v.([]any)
		for _, req := range list {
			for name := range req.(map[string]any) {
				if schemes[name] == nil {
					t.Errorf("%s: security scheme %q is not in components.securitySchemes", where, name)
				}
			}
		}
	}
	checkSecurity("docs/openapi.yaml", s.api["security"])
	opIDs := make(map[string]string)
	paths, _ := s.api["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item := s.pathItem(p)
		declared := func(op map[string]any) map[string]bool {
			out := make(map[string]bool)
			for _, list := range []any{item["parameters"], op["parameters"]} {
				ps, _ := list.([]any)
				for _, param := range ps {
					pm, _ := s.resolve(param, nil)
					if pm["in"] == "path" {
						out[fmt.Sprint(pm["name"])] = true
					}
				}
			}
			return out
		}
		for _, m := range operations {
			op, _ := item[m].(map[string]any)
			if op == nil {
				continue
			}
			where := "docs/openapi.yaml " + strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("%s: operationId %s is also %s's", where, id, other)
			}
			opIDs[id] = where
			if r, _ := op["responses"].(map[string]any); len(r) == 0 {
				t.Errorf("%s has no responses", where)
			}
			checkSecurity(where, op["security"])
			params := declared(op)
			for _, seg := range strings.Split(p, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok && !params[strings.TrimSuffix(name, "}")] {
					t.Errorf("%s: path parameter %s is not declared (parameters, in: path)", where, seg)
				}
			}
		}
	}

	schemas, _ := s.api["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range sortedKeys(schemas) {
		examples, _ := schemas[name].(map[string]any)["examples"].([]any)
		for _, ex := range examples {
			if err := s.compile(t, s.apiURL+"#"+pointer("components", "schemas", name)).Validate(ex); err != nil {
				t.Errorf("docs/openapi.yaml components.schemas.%s: an example does not match: %v", name, err)
			}
		}
	}
}

// testSpecRoutes compares the node's route table with the spec's paths,
// both ways.
func testSpecRoutes(t *testing.T, s *specs, tn *testNode) {
	routes := tn.Routes()
	mux := http.NewServeMux()
	served := make(map[string]bool) // "GET /api/me"
	registered := make(map[string]bool)
	for _, r := range routes {
		served[r.Method+" "+r.Path] = true
		if item := s.pathItem(r.Path); item == nil || item[strings.ToLower(r.Method)] == nil {
			t.Errorf("route %s %s (node/handler.go or node/httpapi/api.go) is not in docs/openapi.yaml: add paths[%q].%s with its parameters, request body, every status it answers (error bodies: components.responses) and its security",
				r.Method, r.Path, r.Path, strings.ToLower(r.Method))
		}
		if !registered[r.Path] { // a path with several methods is one pattern
			registered[r.Path] = true
			mux.HandleFunc(r.Path, func(http.ResponseWriter, *http.Request) {})
		}
	}
	// The API's fallback is not a route: a spec path under /api/ that
	// only it serves is a path without a route.
	mux.HandleFunc("/api/", func(http.ResponseWriter, *http.Request) {})

	paths, _ := s.api["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item := s.pathItem(p)
		concrete := strings.NewReplacer("{", "", "}", "").Replace(p)
		for _, m := range operations {
			if item[m] == nil {
				continue
			}
			method := strings.ToUpper(m)
			_, pattern := mux.Handler(httptest.NewRequest(method, concrete, nil))
			if !served[method+" "+pattern] {
				t.Errorf("docs/openapi.yaml has %s %s, which no route serves (node.Routes): remove it from the spec, or add the route to node/httpapi/api.go (routes) or node/handler.go (routes)", method, p)
			}
		}
	}
}

// testSpecFrameTypes compares wire's frame type constants with
// wire.Frames, and wire.Frames with the schema files, both ways; every
// schema file must compile.
func testSpecFrameTypes(t *testing.T, s *specs) {
	listed := make(map[string]bool)
	for _, f := range wire.Frames {
		key := string(f.Dir) + "/" + f.Type
		if listed[key] {
			t.Errorf("wire.Frames lists %s twice", key)
		}
		listed[key], listed[f.Type] = true, true
		if f.Dir != wire.FromClient && f.Dir != wire.FromServer {
			t.Errorf("wire.Frames: %s has direction %q", f.Type, f.Dir)
		}
	}
	consts := stringConsts(t, "wire", "Type")
	for _, name := range sortedKeys(consts) {
		if !listed[consts[name]] {
			t.Errorf("wire.%s (%q) is not in wire.Frames: add {Channel, wire.%s, FromClient or FromServer} to Frames in node/wire/frames.go, and its schema docs/schemas/<client|server>/%s.json",
				name, consts[name], name, consts[name])
		}
	}

	for _, f := range wire.Frames {
		file := schemaFile(f.Dir, f.Type)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("wire.Frames has the %s frame %s without a schema: add %s (JSON Schema 2020-12; copy a neighbour, set the channel and type consts and describe the contents, shared parts in docs/schemas/defs.json)",
				f.Dir, f.Type, strings.TrimPrefix(file, "../"))
			continue
		}
		var sch struct {
			Properties struct {
				Channel struct{ Const string }
				Message struct {
					Properties struct{ Type struct{ Const string } }
				}
			}
		}
		if err := json.Unmarshal(b, &sch); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if f.Channel != wire.AnyChannel && sch.Properties.Channel.Const != f.Channel {
			t.Errorf("%s: channel const %q, but wire.Frames has %q", file, sch.Properties.Channel.Const, f.Channel)
		}
		if got := sch.Properties.Message.Properties.Type.Const; got != f.Type {
			t.Errorf("%s: message.type const %q, want %q", file, got, f.Type)
		}
	}
	for _, dir := range []wire.Direction{wire.FromClient, wire.FromServer} {
		files, err := filepath.Glob(filepath.Join(schemaDir, string(dir), "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			s.compile(t, file)
			if typ := strings.TrimSuffix(filepath.Base(file), ".json"); !listed[string(dir)+"/"+typ] {
				t.Errorf("%s describes no %s frame of wire.Frames: remove it, or add the frame type to Frames in node/wire/frames.go", strings.TrimPrefix(file, "../"), dir)
			}
		}
	}
}

// testSpecErrorCodes compares the error code constants of wire and
// httpapi with the enums of the specs.
func testSpecErrorCodes(t *testing.T, s *specs) {
	// check compares constants (by qualified name) with an enum, both ways.
	check := func(consts map[string]string, enum map[string]bool, where string) {
		values := make(map[string]bool)
		for _, name := range sortedKeys(consts) {
			values[consts[name]] = true
			if !enum[consts[name]] {
				t.Errorf("%s (%q) is not in %s: add it there, and to the table of codes in docs/protocol.md (wire) or docs/api.md (httpapi)", name, consts[name], where)
			}
		}
		for _, code := range sortedKeys(enum) {
			if !values[code] {
				t.Errorf("%s has %q, which is no Code* constant of node/wire or node/httpapi: remove it, or add the constant", where, code)
			}
		}
	}
	qualified := func(pkg string) map[string]string {
		out := make(map[string]string)
		for k, v := range stringConsts(t, pkg, "Code") {
			out[pkg+"."+k] = v
		}
		return out
	}
	wireCodes, all := qualified("wire"), qualified("httpapi")
	maps.Copy(all, wireCodes)
	check(wireCodes, jsonEnum(t, filepath.Join(schemaDir, "defs.json"), "$defs", "errorCode"), "docs/schemas/defs.json $defs.errorCode")
	check(all, enumAt(t, s.api, "docs/openapi.yaml", "components", "schemas", "ErrorCode"), "docs/openapi.yaml components.schemas.ErrorCode")
}

// testSpecCoverage fails for a route no call answered with success and
// a frame type the websocket steps never sent or received: the spec of
// each must be checked against the real thing.
func testSpecCoverage(t *testing.T, s *specs, tn *testNode) {
	for _, r := range tn.Routes() {
		ok := false
		for k := range s.answered {
			status, found := strings.CutPrefix(k, r.Method+" "+r.Path+" ")
			ok = ok || found && (status[0] == '1' || status[0] == '2')
		}
		if !ok {
			t.Errorf("route %s %s was never answered with success by TestSpec: call it in testSpecHTTP (node/spec_http_test.go), with its error cases", r.Method, r.Path)
		}
	}
	paths, _ := s.api["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		item := s.pathItem(p)
		for _, m := range operations {
			op, _ := item[m].(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			for _, status := range sortedKeys(responses) {
				key := strings.ToUpper(m) + " " + p + " " + status
				if status != "default" && !s.answered[key] && unprovokable[key] == "" {
					t.Errorf("docs/openapi.yaml documents %s, which TestSpec never saw: provoke it in testSpecHTTP (node/spec_http_test.go), remove it from the spec if the route cannot answer it, or add it to unprovokable with the reason", key)
				}
			}
		}
	}
	for _, f := range wire.Frames {
		if !s.framesSeen[string(f.Dir)+"/"+f.Type] {
			verb := "received"
			if f.Dir == wire.FromClient {
				verb = "sent"
			}
			t.Errorf("the %s frame %s was never %s by TestSpec: add a step to testSpecFrames (node/spec_frames_test.go) that %s it", f.Dir, f.Type, verb, map[bool]string{true: "sends", false: "provokes"}[f.Dir == wire.FromClient])
		}
	}
}

// unprovokable are the documented answers TestSpec's one node cannot be
// made to give, with the reason.
var unprovokable = map[string]string{
	"GET /readyz 503":         "the node would have to lose NATS or drain",
	"GET /ws 503":             "the node would have to drain, lose storage or reach its connection limit",
	"GET /websockets 503":     "as GET /ws 503",
	"POST /api/broadcast 403": "the test node has an API key",
}
