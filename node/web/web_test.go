package web

import (
	"io"
	"net/http"
	"net/http/httptest"
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

func TestServesFiles(t *testing.T) {
	h := Handler()
	cases := []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="/js/app.js"></script>`},
		{"/js/app.js", "text/javascript; charset=utf-8", "import "},
		{"/js/connection.js", "text/javascript; charset=utf-8", "new WebSocket("},
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

func TestUnknownPath404(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/index.html", "/nope", "/app.js", "/js/nope.js", "/js/", "/web.go", "/favicon.ico"} {
		if res := get(t, h, http.MethodGet, p, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	h := Handler()
	if res := get(t, h, http.MethodPost, "/", nil); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", res.StatusCode)
	}
	res := get(t, h, http.MethodHead, "/style.css", nil)
	if res.StatusCode != http.StatusOK || body(t, res) != "" {
		t.Errorf("HEAD /style.css: status %d, want 200 and no body", res.StatusCode)
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
}
