package web

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// modules lists the JavaScript modules on disk as URL paths: the page's
// (js/*.js) and the SDK's (clients/js/src/*.js, at SDKPath).
func modules(t *testing.T) []string {
	t.Helper()
	paths := slices.Sorted(maps.Keys(moduleFiles(t)))
	if len(paths) == 0 {
		t.Fatal("no modules in js/")
	}
	return paths
}

// sdkDir is the SDK's source directory, relative to this package.
const sdkDir = "../../clients/js/src"

// moduleFiles maps each module's URL path to its file on disk.
func moduleFiles(t *testing.T) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, d := range []struct{ dir, url string }{{"js", "/js/"}, {sdkDir, SDKPath}} {
		entries, err := os.ReadDir(d.dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if path.Ext(e.Name()) == ".js" {
				files[d.url+e.Name()] = d.dir + "/" + e.Name()
				n++
			}
		}
		if n == 0 {
			t.Fatalf("no modules in %s", d.dir)
		}
	}
	return files
}

func TestServesFiles(t *testing.T) {
	h := Handler()
	cases := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/js/app.js"></script>`},
		{"/js/app.js", "text/javascript; charset=utf-8", "import "},
		{"/js/connection.js", "text/javascript; charset=utf-8", "new NatterClient("},
		{"/js/natter/client.js", "text/javascript; charset=utf-8", "export class NatterClient"},
		{"/style.css", "text/css; charset=utf-8", ":root"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			res := get(t, h, http.MethodGet, c.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type %q, want %q", got, c.ctype)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-cache" {
				t.Errorf("Cache-Control %q, want no-cache", got)
			}
			if b := body(t, res); !strings.Contains(b, c.contains) {
				t.Errorf("body does not contain %q", c.contains)
			}
		})
	}
}

// Every file in js/ and in the SDK's src/ on disk is served, as
// JavaScript, byte for byte: the embed patterns cannot leave a module
// out, and the page cannot get an SDK other than the one npm ships,
// without this failing.
func TestServesEveryModule(t *testing.T) {
	h := Handler()
	for p, file := range moduleFiles(t) {
		t.Run(p, func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			res := get(t, h, http.MethodGet, p, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			for k, v := range map[string]string{
				"Content-Type":           "text/javascript; charset=utf-8",
				"Cache-Control":          "no-cache",
				"X-Content-Type-Options": "nosniff",
			} {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s %q, want %q", k, got, v)
				}
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if body(t, res) != string(want) {
				t.Error("body differs from the file on disk")
			}
		})
	}
}

// importRE finds the module specifiers of static imports and re-exports
// (import x from '...', import '...', export {x} from '...', also split
// over lines) and of dynamic import('...').
var importRE = regexp.MustCompile(`(?m)(?:^\s*import\s+(?:[\w*{}\s,$]+\s+from\s+)?|^\s*export\s+(?:\*|\{[^}]*\})\s+from\s+|\bimport\(\s*)['"]([^'"]+)['"]`)

// Starting from index.html's module script, every import resolves to a
// served module, and every module in js/ is reached (none is dead).
func TestImportsResolve(t *testing.T) {
	h := Handler()
	index := body(t, get(t, h, http.MethodGet, "/", nil))
	entry := regexp.MustCompile(`<script type="module" src="([^"]+)"></script>`).FindStringSubmatch(index)
	if entry == nil {
		t.Fatal("index.html has no module script")
	}
	seen := map[string]bool{}
	queue := []string{entry[1]}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res := get(t, h, http.MethodGet, p, nil)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Errorf("%s: status %d, type %q, want a served module", p, res.StatusCode, res.Header.Get("Content-Type"))
			continue
		}
		for _, m := range importRE.FindAllStringSubmatch(body(t, res), -1) {
			queue = append(queue, resolve(t, p, m[1]))
		}
	}
	for _, p := range modules(t) {
		if !seen[p] {
			t.Errorf("%s is not imported by any module reached from %s", p, entry[1])
		}
	}
}

// resolve returns the URL path a browser loads for import spec in module
// from; specifiers must be relative or absolute paths (no import map).
func resolve(t *testing.T, from, spec string) string {
	t.Helper()
	if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") && !strings.HasPrefix(spec, "/") {
		t.Errorf("%s imports %q: a bare specifier does not load in a browser", from, spec)
	}
	base := &url.URL{Scheme: "http", Host: "natter.test", Path: from}
	ref, err := url.Parse(spec)
	if err != nil {
		t.Fatalf("%s imports %q: %v", from, spec, err)
	}
	return base.ResolveReference(ref).Path
}

func TestResolve(t *testing.T) {
	for _, c := range [][3]string{
		{"/js/app.js", "./dom.js", "/js/dom.js"},
		{"/js/app.js", "../style.css", "/style.css"},
		{"/js/app.js", "/js/x.js", "/js/x.js"},
	} {
		if got := resolve(t, c[0], c[1]); got != c[2] {
			t.Errorf("resolve(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	src := "import { a,\n  b } from './a.js';\nimport './b.js';\nexport { c } from \"./c.js\";\nconst d = import('./d.js');\n// from './no.js'\n"
	var got []string
	for _, m := range importRE.FindAllStringSubmatch(src, -1) {
		got = append(got, m[1])
	}
	if want := []string{"./a.js", "./b.js", "./c.js", "./d.js"}; !slices.Equal(got, want) {
		t.Errorf("importRE found %q, want %q", got, want)
	}
}

func TestIndexHasDOMContract(t *testing.T) {
	b := body(t, get(t, Handler(), http.MethodGet, "/", nil))
	for _, id := range []string{
		"name", "password", "login", "register", "auth-error", "room-name", "join-room",
		"rooms", "messages", "message-input", "send", "members", "status", "leave-room",
		"notice", "logout",
	} {
		if !strings.Contains(b, `id="`+id+`"`) {
			t.Errorf("index.html lacks #%s", id)
		}
	}
	if strings.Contains(b, "http://") || strings.Contains(b, "https://") {
		t.Error("index.html references an external URL")
	}
}

// The page runs under a strict CSP: no inline script in index.html, and
// the policy allows scripts from this origin only.
func TestStrictCSP(t *testing.T) {
	res := get(t, Handler(), http.MethodGet, "/", nil)
	policy := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(policy, "default-src 'self'") || strings.Contains(policy, "unsafe") || strings.Contains(policy, "script-src") {
		t.Errorf("Content-Security-Policy %q: want default-src 'self' and nothing that widens scripts", policy)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>[^<]*</script>`).FindAllString(body(t, res), -1) {
		if !regexp.MustCompile(`^<script type="module" src="/[^"]+"></script>$`).MatchString(tag) {
			t.Errorf("index.html has %s; want only external module scripts", tag)
		}
	}
}

func TestUnknownPath404(t *testing.T) {
	h := Handler()
	for _, p := range []string{
		"/index.html", "/nope", "/app.js", "/web.go", "/favicon.ico", "/style.css/",
		"/js", "/js/", "/js/nope.js", "/js/app.js/", "/js/app", "/app.js/", "/dom.js", "/js/../web.go",
		"/js/natter", "/js/natter/", "/js/natter/natter.d.ts", "/js/natter/embed.go", "/js/natter/src/natter.js",
	} {
		if res := get(t, h, http.MethodGet, p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	h := Handler()
	paths := append([]string{"/", "/style.css"}, modules(t)...)
	for _, p := range paths {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			res := get(t, h, m, p, nil)
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status %d, Allow %q; want 405, GET, HEAD", m, p, res.StatusCode, res.Header.Get("Allow"))
			}
		}
		res := get(t, h, http.MethodHead, p, nil)
		if res.StatusCode != http.StatusOK || body(t, res) != "" {
			t.Errorf("HEAD %s: status %d, want 200 and no body", p, res.StatusCode)
		}
		if want := ctypes[path.Ext(p)]; path.Ext(p) != "" && res.Header.Get("Content-Type") != want {
			t.Errorf("HEAD %s: Content-Type %q, want %q", p, res.Header.Get("Content-Type"), want)
		}
	}
}

func TestRevalidation(t *testing.T) {
	h := Handler()
	etag := get(t, h, http.MethodGet, "/js/app.js", nil).Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res := get(t, h, http.MethodGet, "/js/app.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", res.StatusCode)
	}
	if other := get(t, h, http.MethodGet, "/js/dom.js", nil).Header.Get("ETag"); other == etag {
		t.Errorf("/js/dom.js and /js/app.js share the ETag %s", etag)
	}
}
