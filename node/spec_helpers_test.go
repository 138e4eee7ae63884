package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/natterchat/natter/node/wire"
)

// Where the specs are, from this package's directory (tests run there).
const (
	openAPIFile = "../docs/openapi.yaml"
	schemaDir   = "../docs/schemas"
)

// specs are docs/openapi.yaml and the frame schemas of docs/schemas,
// compiled, with what a test checked against them.
type specs struct {
	api    map[string]any // the OpenAPI document as JSON values
	apiURL string
	c      *jsonschema.Compiler
	cache  map[string]*jsonschema.Schema // by location

	// answered is every route and status a response was checked for:
	// "GET /api/me 200".
	answered map[string]bool
	// framesSeen is every frame type checked: "server/Welcome".
	framesSeen map[string]bool
}

// loadSpecs reads and compiles the specs; a spec that is not valid YAML,
// JSON or JSON Schema fails the test.
func loadSpecs(t testing.TB) *specs {
	t.Helper()
	b, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	j, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("%s: not JSON-compatible (a mapping with a key that is not a string?): %v", openAPIFile, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	s := &specs{api: doc.(map[string]any), apiURL: "file://" + abs, c: jsonschema.NewCompiler(),
		cache: make(map[string]*jsonschema.Schema), answered: make(map[string]bool), framesSeen: make(map[string]bool)}
	s.c.DefaultDraft(jsonschema.Draft2020)
	s.c.AssertFormat()
	if err := s.c.AddResource(s.apiURL, s.api); err != nil {
		t.Fatal(err)
	}
	return s
}

// compile compiles the schema at loc (a file, or the OpenAPI document's
// URL with a fragment), once.
func (s *specs) compile(t testing.TB, loc string) *jsonschema.Schema {
	t.Helper()
	if sch, ok := s.cache[loc]; ok {
		return sch
	}
	sch, err := s.c.Compile(loc)
	if err != nil {
		t.Fatalf("compile %s: %v", loc, err)
	}
	s.cache[loc] = sch
	return sch
}

// pointer is a JSON pointer of tokens, escaped for a URL fragment.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
		b.WriteString("/" + url.PathEscape(tok))
	}
	return b.String()
}

// resolve follows a local $ref ("#/components/responses/X") of the OpenAPI
// document; it returns the object and the tokens of where it is, nil for
// a $ref to nothing or a chain of more than 10 (a cycle).
func (s *specs) resolve(v any, at []string) (map[string]any, []string) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, at
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, at
		}
		at = nil
		v = s.api
		for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			at = append(at, tok)
			m, _ := v.(map[string]any)
			v = m[tok]
		}
	}
	return nil, at
}

// pathItem is the OpenAPI path item of path, nil if there is none.
func (s *specs) pathItem(path string) map[string]any {
	paths, _ := s.api["paths"].(map[string]any)
	m, _ := s.resolve(paths[path], []string{"paths", path})
	return m
}

// checkResponse validates a response to method on the OpenAPI path
// specPath: the status must be documented for the operation (or its
// "default"), the media type among the documented ones, and the body
// valid against that media type's schema (a text body as a JSON string).
func (s *specs) checkResponse(t testing.TB, method, specPath string, status int, header http.Header, body []byte) {
	t.Helper()
	what := fmt.Sprintf("%s %s -> %d %q", method, specPath, status, trim(body))
	item := s.pathItem(specPath)
	if item == nil {
		t.Errorf("%s: docs/openapi.yaml has no path %s", what, specPath)
		return
	}
	op, at := s.resolve(item[strings.ToLower(method)], []string{"paths", specPath, strings.ToLower(method)})
	if op == nil {
		t.Errorf("%s: docs/openapi.yaml has no %s operation on %s", what, method, specPath)
		return
	}
	responses, _ := op["responses"].(map[string]any)
	key := strconv.Itoa(status)
	if _, ok := responses[key]; !ok {
		key = "default"
	}
	resp, at := s.resolve(responses[key], append(at, "responses", key))
	if resp == nil || (key == "default" && status < 400) {
		t.Errorf("%s: status %d is not documented in docs/openapi.yaml", what, status)
		return
	}
	s.answered[method+" "+specPath+" "+strconv.Itoa(status)] = true
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			t.Errorf("%s: docs/openapi.yaml documents no body for it", what)
		}
		return
	}
	mt, _, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		t.Errorf("%s: Content-Type %q: %v", what, header.Get("Content-Type"), err)
		return
	}
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s: Content-Type %s is not documented in docs/openapi.yaml", what, mt)
		return
	}
	if _, ok := media["schema"]; !ok {
		return
	}
	var v any = string(body)
	if mt == "application/json" {
		if v, err = jsonschema.UnmarshalJSON(bytes.NewReader(body)); err != nil {
			t.Errorf("%s: body is not JSON: %v", what, err)
			return
		}
	}
	sch := s.compile(t, s.apiURL+"#"+pointer(append(at, "content", mt, "schema")...))
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s: the body does not match docs/openapi.yaml: %v", what, err)
	}
}

// checkRequest validates a request body the node accepts against the
// operation's requestBody schema.
func (s *specs) checkRequest(t testing.TB, method, specPath string, body []byte) {
	t.Helper()
	op, at := s.resolve(s.pathItem(specPath)[strings.ToLower(method)], []string{"paths", specPath, strings.ToLower(method)})
	rb, at := s.resolve(op["requestBody"], append(at, "requestBody"))
	if rb == nil {
		t.Errorf("%s %s takes a body, but docs/openapi.yaml documents no requestBody", method, specPath)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.compile(t, s.apiURL+"#"+pointer(append(at, "content", "application/json", "schema")...)).Validate(v); err != nil {
		t.Errorf("%s %s: the request %s, which the node accepts, does not match docs/openapi.yaml: %v", method, specPath, body, err)
	}
}

// checkSchema validates a JSON body against a schema of the OpenAPI
// document's components (for answers the paths describe in prose only).
func (s *specs) checkSchema(t testing.TB, name string, body []byte) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%q is not JSON: %v", trim(body), err)
		return
	}
	if err := s.compile(t, s.apiURL+"#"+pointer("components", "schemas", name)).Validate(v); err != nil {
		t.Errorf("%q does not match components.schemas.%s of docs/openapi.yaml: %v", trim(body), name, err)
	}
}

// schemaFile is the schema of a frame type.
func schemaFile(dir wire.Direction, typ string) string {
	return filepath.Join(schemaDir, string(dir), typ+".json")
}

// checkFrame validates a frame against the schema of its type (client
// frames as the server reads them, server frames as it sends them).
func (s *specs) checkFrame(t testing.TB, dir wire.Direction, raw []byte) {
	t.Helper()
	var env struct {
		Message struct{ Type string }
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.Message.Type == "" {
		t.Errorf("%s frame %s has no message.type", dir, raw)
		return
	}
	file := schemaFile(dir, env.Message.Type)
	if _, err := os.Stat(file); err != nil {
		t.Errorf("%s frame %s: no schema %s", dir, raw, file)
		return
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Errorf("%s frame %s is not JSON: %v", dir, raw, err)
		return
	}
	if err := s.compile(t, file).Validate(v); err != nil {
		t.Errorf("%s frame %s does not match %s: %v", dir, raw, file, err)
	}
	s.framesSeen[string(dir)+"/"+env.Message.Type] = true
}

// specCall is one HTTP request of TestSpec: to path, documented at
// specPath, answered with want.
type specCall struct {
	method, specPath, path string
	token                  string
	body                   any // JSON-encoded unless a string
	header                 http.Header
	want                   int
}

// call makes the request, checks its status and validates the answer
// against docs/openapi.yaml; it returns the body.
func (s *specs) call(t testing.TB, tn *testNode, c specCall) []byte {
	t.Helper()
	var rd io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		if c.want < 300 {
			s.checkRequest(t, c.method, c.specPath, j)
		}
	}
	req, err := http.NewRequest(c.method, tn.url(c.path), rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", c.method, c.path, err)
	}
	if resp.StatusCode != c.want {
		t.Errorf("%s %s: status %d %q, want %d", c.method, c.path, resp.StatusCode, trim(body), c.want)
	}
	s.checkResponse(t, c.method, c.specPath, resp.StatusCode, resp.Header, body)
	return body
}

// trim shortens a body for a message.
func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// stringConsts returns the string constants of the Go package in dir
// whose names start with prefix, by name, read from its source: the
// frame types and error codes the specs must know.
func stringConsts(t testing.TB, dir, prefix string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						out[id.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s* constants in %s: the scan is broken", prefix, dir)
	}
	return out
}

// jsonEnum reads the enum at a path of nested objects in a JSON file.
func jsonEnum(t testing.TB, file string, path ...string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return enumAt(t, v, file, path...)
}

// enumAt reads the enum at a path of nested objects in v.
func enumAt(t testing.TB, v any, where string, path ...string) map[string]bool {
	t.Helper()
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	list, ok := v.(map[string]any)["enum"].([]any)
	if !ok {
		t.Fatalf("%s has no enum at %s", where, strings.Join(path, "."))
	}
	out := make(map[string]bool)
	for _, e := range list {
		out[fmt.Sprint(e)] = true
	}
	return out
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
