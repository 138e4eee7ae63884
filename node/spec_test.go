package node

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
			t.Errorf("route %s %s was never answered with success by TestSpec: call it in testSpecHTTP (node/spec_test.go), with its error cases", r.Method, r.Path)
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
					t.Errorf("docs/openapi.yaml documents %s, which TestSpec never saw: provoke it in testSpecHTTP (node/spec_test.go), remove it from the spec if the route cannot answer it, or add it to unprovokable with the reason", key)
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
			t.Errorf("the %s frame %s was never %s by TestSpec: add a step to testSpecFrames (node/spec_test.go) that %s it", f.Dir, f.Type, verb, map[bool]string{true: "sends", false: "provokes"}[f.Dir == wire.FromClient])
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

// testSpecHTTP calls every route, in its success and error cases. It
// returns three users it registered.
func testSpecHTTP(t *testing.T, s *specs, tn *testNode) []account {
	type m = map[string]any
	call := func(method, specPath, path, token string, body any, want int) []byte {
		t.Helper()
		return s.call(t, tn, specCall{method: method, specPath: specPath, path: path, token: token, body: body, want: want})
	}
	session := func(b []byte) account {
		t.Helper()
		var out struct{ User, Name, Token string }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		return account{ID: out.User, Name: out.Name, Token: out.Token}
	}
	const post, get, del = http.MethodPost, http.MethodGet, http.MethodDelete

	// Accounts.
	alice := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-alice", "password": "password-alice"}, 201))
	bob := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-bob", "password": "password-bob"}, 201))
	carol := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-carol", "password": "password-carol"}, 201))
	call(post, "/api/users", "/api/users", "", m{"name": "spec-alice", "password": "password-alice"}, 409)
	call(post, "/api/users", "/api/users", "", "{not json", 400)
	call(post, "/api/users", "/api/users", "", m{"name": "spec-x"}, 400)
	call(post, "/api/users", "/api/users", "", m{"name": "spec-x", "password": "short"}, 400)
	call(post, "/api/users", "/api/users", "", strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/sessions", "/api/sessions", "", m{"name": "spec-alice", "password": "password-alice"}, 200)
	call(post, "/api/sessions", "/api/sessions", "", m{"name": "spec-alice", "password": "wrong-password"}, 401)
	call(post, "/api/sessions", "/api/sessions", "", m{}, 400)
	call(post, "/api/sessions", "/api/sessions", "", strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/sessions/refresh", "/api/sessions/refresh", alice.Token, nil, 200)
	call(post, "/api/sessions/refresh", "/api/sessions/refresh", "", nil, 401)
	call(get, "/api/me", "/api/me", alice.Token, nil, 200)
	call(get, "/api/me", "/api/me", "not-a-token", nil, 401)
	dave := session(call(post, "/api/users", "/api/users", "", m{"name": "spec-dave", "password": "password-dave"}, 201))
	call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "wrong-password", "newPassword": "new-password"}, 403)
	call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "password-dave"}, 400)
	call(post, "/api/me/password", "/api/me/password", "", m{}, 401)
	call(post, "/api/me/password", "/api/me/password", dave.Token, strings.Repeat(" ", 65<<10), 413)
	dave = session(call(post, "/api/me/password", "/api/me/password", dave.Token, m{"password": "password-dave", "newPassword": "new-password"}, 200))
	call(del, "/api/sessions", "/api/sessions", dave.Token, nil, 204)
	call(del, "/api/sessions", "/api/sessions", dave.Token, nil, 401)

	// Chats.
	chatID := func(b []byte) string {
		t.Helper()
		var c struct{ ID string }
		if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
			t.Fatalf("no chat id in %q", b)
		}
		return c.ID
	}
	lobby := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-lobby", "kind": "public"}, 201))
	secret := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-secret", "kind": "private", "members": []string{bob.ID}}, 201))
	direct := chatID(call(post, "/api/chats", "/api/chats", alice.Token, m{"kind": "direct", "members": []string{bob.ID}}, 201))
	call(post, "/api/chats", "/api/chats", alice.Token, m{"kind": "direct", "members": []string{bob.ID}}, 200)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "spec-lobby", "kind": "public"}, 409)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "no kind"}, 400)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "x", "kind": "private", "members": []string{"no/such id"}}, 400)
	call(post, "/api/chats", "/api/chats", alice.Token, m{"name": "x", "kind": "private", "members": []string{"no-such-user"}}, 404)
	call(post, "/api/chats", "/api/chats", "", m{}, 401)
	call(post, "/api/chats", "/api/chats", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(get, "/api/chats", "/api/chats", alice.Token, nil, 200)
	call(get, "/api/chats", "/api/chats", "", nil, 401)

	const chat = "/api/chats/{id}"
	call(get, chat, "/api/chats/"+lobby, alice.Token, nil, 200)
	call(get, chat, "/api/chats/bad!id", alice.Token, nil, 400)
	call(get, chat, "/api/chats/no-such-chat", alice.Token, nil, 404)
	call(get, chat, "/api/chats/"+secret, carol.Token, nil, 403)
	call(get, chat, "/api/chats/"+lobby, "", nil, 401)

	const join, leave = chat + "/join", chat + "/leave"
	call(post, join, "/api/chats/"+lobby+"/join", carol.Token, nil, 200)
	call(post, join, "/api/chats/"+secret+"/join", carol.Token, nil, 403)
	call(post, join, "/api/chats/no-such-chat/join", carol.Token, nil, 404)
	call(post, join, "/api/chats/bad!id/join", carol.Token, nil, 400)
	call(post, join, "/api/chats/"+lobby+"/join", "", nil, 401)
	call(post, leave, "/api/chats/"+lobby+"/leave", carol.Token, nil, 200)
	call(post, leave, "/api/chats/"+secret+"/leave", carol.Token, nil, 403)
	call(post, leave, "/api/chats/no-such-chat/leave", carol.Token, nil, 404)
	call(post, leave, "/api/chats/bad!id/leave", carol.Token, nil, 400)
	call(post, leave, "/api/chats/"+lobby+"/leave", "", nil, 401)

	const members, member = chat + "/members", chat + "/members/{user}"
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{"user": carol.ID}, 200)
	call(post, members, "/api/chats/"+direct+"/members", alice.Token, m{"user": carol.ID}, 403)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{"user": "no-such-user"}, 404)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, m{}, 400)
	call(post, members, "/api/chats/"+secret+"/members", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(post, members, "/api/chats/"+secret+"/members", "", m{}, 401)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, bob.Token, nil, 403)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, alice.Token, nil, 200)
	call(del, member, "/api/chats/"+secret+"/members/bad!id", alice.Token, nil, 400)
	call(del, member, "/api/chats/no-such-chat/members/"+carol.ID, alice.Token, nil, 404)
	call(del, member, "/api/chats/"+secret+"/members/"+carol.ID, "", nil, 401)

	// Presence, with a device of alice online.
	c := tn.dialUser(alice)
	defer c.Conn.Close()
	const presence = chat + "/presence"
	checkFor(t, 10*time.Second, func() error {
		var out struct{ Online []any }
		if st := tn.api(get, "/api/chats/"+lobby+"/presence", alice.Token, nil, &out); st != 200 || len(out.Online) == 0 {
			return fmt.Errorf("presence: %d %+v", st, out)
		}
		return nil
	})
	call(get, presence, "/api/chats/"+lobby+"/presence", alice.Token, nil, 200)
	call(get, presence, "/api/chats/"+secret+"/presence", carol.Token, nil, 403)
	call(get, presence, "/api/chats/no-such-chat/presence", alice.Token, nil, 404)
	call(get, presence, "/api/chats/bad!id/presence", alice.Token, nil, 400)
	call(get, presence, "/api/chats/"+lobby+"/presence", "", nil, 401)

	// Messages.
	const msgs = chat + "/messages"
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "hello"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "once", "clientMsgId": "spec-1"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": "once", "clientMsgId": "spec-1"}, 201)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{"text": strings.Repeat("x", 5000)}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, m{}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", alice.Token, strings.Repeat(" ", 65<<10), 413)
	call(post, msgs, "/api/chats/"+lobby+"/messages", carol.Token, m{"text": "not a member"}, 403)
	call(post, msgs, "/api/chats/no-such-chat/messages", alice.Token, m{"text": "x"}, 404)
	call(post, msgs, "/api/chats/bad!id/messages", alice.Token, m{"text": "x"}, 400)
	call(post, msgs, "/api/chats/"+lobby+"/messages", "", m{"text": "x"}, 401)
	c.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"from a device"}}}`, lobby)
	c.waitFor(wire.TypeMessageAccepted)
	for _, q := range []string{"", "?limit=2", "?after=0", "?before=3&limit=1"} {
		call(get, msgs, "/api/chats/"+lobby+"/messages"+q, alice.Token, nil, 200)
	}
	call(get, msgs, "/api/chats/"+lobby+"/messages?limit=0", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?limit=1001", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?before=3&after=1", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages?before=x", alice.Token, nil, 400)
	call(get, msgs, "/api/chats/"+lobby+"/messages", carol.Token, nil, 403)
	call(get, msgs, "/api/chats/no-such-chat/messages", alice.Token, nil, 404)
	call(get, msgs, "/api/chats/"+lobby+"/messages", "", nil, 401)

	testSpecHTTPChanges(t, s, tn, alice, bob, carol, secret) // spec_changes_test.go

	// The server API and the node.
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, m{"channel": "ping", "message": m{"type": "Ping", "contents": 1}}, 202)
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, m{"message": m{"type": "Ping"}}, 400)
	call(post, "/api/broadcast", "/api/broadcast", testAPIKey, strings.Repeat(" ", 65<<10), 413)
	call(post, "/api/broadcast", "/api/broadcast", alice.Token, m{}, 401)
	call(get, "/api/stats", "/api/stats", "", nil, 200)
	call(get, "/healthz", "/healthz", "", nil, 200)
	call(get, "/readyz", "/readyz", "", nil, 200)
	call(get, "/metrics", "/metrics", "", nil, 200)
	call(get, "/debug/pprof/", "/debug/pprof/", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/heap", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/goroutine?debug=1", "", nil, 200)
	call(get, "/debug/pprof/{profile}", "/debug/pprof/no-such-profile", "", nil, 404)
	call(get, "/debug/pprof/cmdline", "/debug/pprof/cmdline", "", nil, 200)
	call(get, "/debug/pprof/symbol", "/debug/pprof/symbol", "", nil, 200)
	call(get, "/debug/pprof/profile", "/debug/pprof/profile?seconds=1", "", nil, 200)
	call(get, "/debug/pprof/trace", "/debug/pprof/trace?seconds=0.05", "", nil, 200)
	call(get, "/", "/", "", nil, 200)
	resp, err := http.Get(tn.url("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.call(t, tn, specCall{method: get, specPath: "/", path: "/", header: http.Header{"If-None-Match": {resp.Header.Get("ETag")}}, want: 304})
	call(get, "/", "/no-such-file", "", nil, 404)

	// Answers the paths describe in prose: a method a path does not
	// serve, and a path under /api/ without a route.
	for _, r := range []struct {
		method, path string
		want         int
	}{{http.MethodPut, "/api/me", 405}, {get, "/api/no-such-route", 404}} {
		var body json.RawMessage
		st := tn.api(r.method, r.path, alice.Token, nil, &body)
		if st != r.want {
			t.Errorf("%s %s: %d, want %d", r.method, r.path, st, r.want)
		}
		s.checkSchema(t, "Error", body)
	}

	testSpecUpgrade(t, s, tn, alice)
	return []account{alice, bob, carol}
}

// testSpecUpgrade checks the WebSocket upgrade's answers: 101, and the
// refusals both as a connection's first request (plain text) and as a
// later one (the API's error body).
func testSpecUpgrade(t *testing.T, s *specs, tn *testNode, a account) {
	upgrade := func(path string, header map[string]string, first bool) {
		t.Helper()
		conn, err := net.Dial("tcp", tn.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		if !first {
			fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", tn.addr)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", path, tn.addr)
		for k, v := range header {
			req += k + ": " + v + "\r\n"
		}
		if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var body []byte
		if resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		specPath, _, _ := strings.Cut(path, "?")
		s.checkResponse(t, http.MethodGet, specPath, resp.StatusCode, resp.Header, body)
	}
	for _, first := range []bool{true, false} {
		for _, p := range []string{"/ws", "/websockets"} {
			upgrade(p+"?token="+a.Token, nil, first)
			upgrade(p, map[string]string{"Authorization": "Bearer " + a.Token}, first)
			upgrade(p, map[string]string{"Sec-WebSocket-Protocol": "natter, token." + a.Token}, first)
			upgrade(p+"?token=not-a-token", nil, first)
			upgrade(p, nil, first)
			upgrade(p+"?token="+a.Token+"&resume=bad", nil, first)
			upgrade(p+"?token="+a.Token, map[string]string{"Origin": "http://elsewhere.example"}, first)
		}
	}
}

// specClient is a WebSocket client whose every frame, sent or received,
// is validated against its schema.
type specClient struct {
	*client
	s *specs
}

// send validates a client frame and sends it.
func (c *specClient) send(t *testing.T, format string, args ...any) {
	t.Helper()
	raw := fmt.Sprintf(format, args...)
	c.s.checkFrame(t, wire.FromClient, []byte(raw))
	c.client.send(raw)
}

// expect reads frames until one of type typ, validating each, and returns
// it; frames of other types on the way (presence, others' notices) are
// validated and skipped.
func (c *specClient) expect(t *testing.T, typ string) frame {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, ok := c.next(time.Until(deadline))
		if !ok {
			t.Fatalf("waiting for %s: none came", typ)
		}
		c.s.checkFrame(t, wire.FromServer, f.Raw)
		if f.Message.Type == typ {
			return f
		}
		if f.Message.Type == wire.TypeError {
			t.Fatalf("waiting for %s: %s", typ, f.Raw)
		}
	}
}

// expectError reads frames until an Error, which must be on channel
// with code.
func (c *specClient) expectError(t *testing.T, channel, code string) {
	t.Helper()
	f := c.expect(t, wire.TypeError)
	var e wire.Error
	f.decode(t, &e)
	if f.Channel != channel || e.Code != code {
		t.Errorf("Error %s, want channel %s code %s", f.Raw, channel, code)
	}
}

// testSpecFrames sends every client frame type and provokes every server
// frame type over real WebSockets, as users a, b and o.
func testSpecFrames(t *testing.T, s *specs, tn *testNode, a, b, o account) {
	dial := func(a account) *specClient {
		t.Helper()
		c, err := tn.tryDial("/ws?token="+a.Token, nil)
		if err != nil {
			t.Fatal(err)
		}
		sc := &specClient{client: c, s: s}
		sc.expect(t, wire.TypeWelcome)
		return sc
	}
	ca, cb := dial(a), dial(b)

	var refreshed struct{ Token string }
	if st := tn.api(http.MethodPost, "/api/sessions/refresh", a.Token, nil, &refreshed); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	ca.send(t, `{"channel":"session","message":{"type":"Refresh","contents":{"token":%q}}}`, refreshed.Token)
	ca.expect(t, wire.TypeRefreshed)

	ca.send(t, `{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"#spec"}}}`)
	var joined wire.MemberEvent
	ca.expect(t, wire.TypeMemberList)
	ca.expect(t, wire.TypeJoinedRoom).decode(t, &joined)
	room := joined.Chat
	tn.settle()
	cb.send(t, `{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"chat":%q},"ref":"j1"}}`, room)
	cb.expect(t, wire.TypeJoinedRoom)
	ca.expect(t, wire.TypeJoinedRoom)

	// Online and Offline: a third user who shares the chat connects and
	// goes.
	if st := tn.api(http.MethodPost, "/api/chats/"+room+"/join", o.Token, nil, nil); st != 200 {
		t.Fatalf("join: %d", st)
	}
	co := dial(o)
	ca.expect(t, wire.TypeOnline)
	co.Conn.Close()
	ca.expect(t, wire.TypeOffline)

	ca.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","clientMsgId":"spec-ws-1"}}}`, room)
	ca.expect(t, wire.TypeMessageAccepted)
	cb.expect(t, wire.TypeNewMessage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"#spec","message":"no echo","echo":false}}}`)
	ca.expect(t, wire.TypeMessageAccepted)
	ca.send(t, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"limit":10}}}`, room)
	ca.expect(t, wire.TypeHistoryPage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"before":2}}}`, room)
	ca.expect(t, wire.TypeHistoryPage)
	ca.send(t, `{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":0}}}`, room)
	ca.expect(t, wire.TypeResumed)
	ca.send(t, `{"channel":"chat-room","message":{"type":"GetMembers","contents":{"chat":%q}}}`, room)
	ca.expect(t, wire.TypeMemberList)
	ca.send(t, `{"channel":"chat","message":{"type":"SubmitMessage","contents":"hello everyone"}}`)
	ca.expect(t, wire.TypeNewMessageReceived)
	cb.expect(t, wire.TypeNewMessageReceived)
	if st := tn.api(http.MethodPost, "/api/broadcast", testAPIKey, map[string]any{"channel": "ping", "message": map[string]any{"type": "Ping", "contents": 2}}, nil); st != 202 {
		t.Fatalf("broadcast: %d", st)
	}
	ca.expect(t, wire.TypePing)

	// Errors, on every channel.
	ca.client.send(`{"channel":`)
	ca.expectError(t, wire.ChannelSession, wire.CodeBadJSON)
	ca.client.send(`{"channel":"nope","message":{"type":"X"}}`)
	ca.expectError(t, wire.ChannelSession, wire.CodeUnknownChannel)
	ca.client.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":"no-such-chat","message":"x"}},"ref":"r1"}`)
	ca.expectError(t, wire.ChannelChatRoom, wire.CodeChatNotFound)
	ca.client.send(`{"channel":"chat","message":{"type":"SubmitMessage","contents":""}}`)
	ca.expectError(t, wire.ChannelChat, wire.CodeMissingField)
	ca.client.send(`{"channel":"ping","message":{"type":"Ping","contents":1}}`)
	ca.expectError(t, wire.ChannelPing, wire.CodeUnknownType)
	ca.client.send(`{"channel":"presence","message":{"type":"Online","contents":{}}}`)
	ca.expectError(t, wire.ChannelPresence, wire.CodeUnknownType)

	testSpecFramesChanges(t, ca, cb, room) // spec_changes_test.go

	cb.send(t, `{"channel":"chat-room","message":{"type":"LeaveRoom","contents":{"chat":%q}}}`, room)
	cb.expect(t, wire.TypeLeftRoom)
	ca.expect(t, wire.TypeLeftRoom)
}
