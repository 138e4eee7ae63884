// Package web embeds natter's browser chat page.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed index.html app.js style.css
var files embed.FS

// asset is one embedded file, read once, with its type and validator.
type asset struct {
	name  string
	ctype string
	data  []byte
	etag  string
}

// routes maps the served URL paths to the embedded files.
var routes = map[string]struct{ file, ctype string }{
	"/":          {"index.html", "text/html; charset=utf-8"},
	"/app.js":    {"app.js", "text/javascript; charset=utf-8"},
	"/style.css": {"style.css", "text/css; charset=utf-8"},
}

// csp allows only this origin: no inline script, no third-party anything.
// connect-src lists ws:/wss: because older browsers do not match them with 'self'.
const csp = "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the chat page at / and its assets at /app.js and /style.css,
// with Cache-Control: no-cache (browsers revalidate with the ETag). Any other
// path is 404; methods other than GET and HEAD are 405.
func Handler() http.Handler {
	assets := make(map[string]asset, len(routes))
	for path, r := range routes {
		data, err := files.ReadFile(r.file)
		if err != nil {
			panic("web: embedded file missing: " + r.file) // cannot happen: go:embed checks at build time
		}
		sum := sha256.Sum256(data)
		assets[path] = asset{name: r.file, ctype: r.ctype, data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if a.name == "index.html" {
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
		}
		http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(a.data))
	})
}
