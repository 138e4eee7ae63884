// Package web embeds natter's browser chat page.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"

	natterjs "github.com/natterchat/natter/clients/js"
)

// The page, its style sheet and its JavaScript modules (js/app.js is the
// entry module; it imports its siblings and the client SDK). No build
// step: the browser loads these files as they are.
//
//go:embed index.html style.css js/*.js
var files embed.FS

// asset is one embedded file, read once, with its type and validator.
type asset struct {
	name  string
	ctype string
	data  []byte
	etag  string
}

// ctypes maps the extensions of the embedded files to their Content-Type.
var ctypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
}

// csp allows only this origin: no inline script, no third-party anything.
// Module scripts loaded from this origin are 'self'.
// connect-src lists ws:/wss: because older browsers do not match them with 'self'.
const csp = "default-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// SDKPath is the URL directory of the JavaScript client SDK's modules
// (clients/js/src, natter-client on npm): the page imports the same
// files npm users get, served from the one copy in the repository.
const SDKPath = "/js/natter/"

// urlPath is where an embedded file of the page is served: index.html
// at /, every other file at its own name (js/app.js at /js/app.js).
func urlPath(name string) string {
	if name == "index.html" {
		return "/"
	}
	return "/" + name
}

// loadAssets reads every embedded file, keyed by its URL path, so the
// served paths are exactly the embedded files: the page's, and the
// SDK's modules under SDKPath.
func loadAssets() map[string]asset {
	assets := make(map[string]asset)
	add := func(fsys fs.FS, url func(string) string) {
		err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			ctype, ok := ctypes[path.Ext(name)]
			if !ok {
				panic("web: no Content-Type for embedded file " + name)
			}
			sum := sha256.Sum256(data)
			assets[url(name)] = asset{name: name, ctype: ctype, data: data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			return nil
		})
		if err != nil {
			panic("web: reading embedded files: " + err.Error()) // cannot happen: go:embed checks at build time
		}
	}
	add(files, urlPath)
	add(natterjs.Modules, func(name string) string { return SDKPath + path.Base(name) })
	return assets
}

// Handler serves the chat page at /, its style sheet at /style.css, its
// JavaScript modules at /js/<name>.js and the SDK's at
// /js/natter/<name>.js, with Cache-Control: no-cache (browsers
// revalidate with the ETag). Any other path is 404; methods other than
// GET and HEAD are 405.
func Handler() http.Handler {
	assets := loadAssets()
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
