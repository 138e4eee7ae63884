package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/natterchat/natter/"

// layers is the allowed import direction inside node/ (docs/architecture.md):
// a package may import packages of a lower layer only. Packages of one
// layer do not import each other.
var layers = map[string]int{
	"node/internal": 0, "node/wire": 0, "node/wsconn": 0, "node/auth": 0, "node/web": 0, "node/handshake": 0,
	"node/natslink":  0, // the link to NATS: imports no node package
	"node/tlsserve":  0, // the TLS the node serves: imports no node package
	"node/client":    1, // a client of the protocol: wire only
	"node/fanout":    1,
	"node/authlimit": 1, // the login limits: store and node/internal
	"node/presence":  2,
	"node/chat":      3,
	"node/session":   4,
	"node/httpapi":   4,
	"node":           5,
}

// forbidden are imports the layers alone would allow but the design
// does not: the HTTP API reaches devices only through the chat
// operations, the node's packages never import the tools built on
// them, and clients/ holds other languages' clients, which the Go code
// only embeds.
var forbidden = map[string][]string{
	"node/httpapi": {"node/fanout", "node/session", "node/wsconn"},
	"node/client":  {"node/internal", "node/wsconn", "node/auth", "node/web", "store"},
	"node/":        {"cmd/", "bench"},
	"store":        {"node"},
	"subjects":     {"node", "store"},
	// The JavaScript client's Go package only embeds its files for
	// node/web to serve.
	"clients/": {"node", "store", "subjects", "cmd/", "bench"},
}

// layerOf returns the layer of a package path relative to the module,
// and whether it is a node package.
func layerOf(rel string) (int, bool) {
	best, layer := "", 0
	for p, l := range layers {
		if (rel == p || strings.HasPrefix(rel, p+"/")) && len(p) > len(best) {
			best, layer = p, l
		}
	}
	return layer, best != ""
}

// checkImports returns every import of imports (package -> its direct
// imports, paths relative to the module) that breaks the layers or the
// forbidden list.
func checkImports(imports map[string][]string) []error {
	var errs []error
	for pkg, deps := range imports {
		from, inNode := layerOf(pkg)
		for _, dep := range deps {
			if to, ok := layerOf(dep); inNode && ok && to >= from && !sameTree(pkg, dep) {
				errs = append(errs, fmt.Errorf("%s (layer %d) imports %s (layer %d): only lower layers may be imported", pkg, from, dep, to))
			}
			for prefix, bad := range forbidden {
				if pkg != strings.TrimSuffix(prefix, "/") && !strings.HasPrefix(pkg, prefix) {
					continue
				}
				for _, b := range bad {
					if dep == strings.TrimSuffix(b, "/") || strings.HasPrefix(dep, b) {
						errs = append(errs, fmt.Errorf("%s imports %s, which it must not", pkg, dep))
					}
				}
			}
		}
	}
	return errs
}

// sameTree reports whether a and b are one package and its own
// sub-package (node/internal/x importing node/internal/y is fine).
func sameTree(a, b string) bool {
	return strings.HasPrefix(a, "node/internal") && strings.HasPrefix(b, "node/internal")
}

// TestImportDirections reads the module's import graph with go list and
// fails on any import against the allowed direction.
func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...").Output()
	if err != nil {
		t.Skipf("go list is not available: %v", err)
	}
	imports := map[string][]string{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, dep := range p.Imports {
			if strings.HasPrefix(dep, module) {
				imports[rel] = append(imports[rel], strings.TrimPrefix(dep, module))
			}
		}
	}
	if _, ok := imports["node/fanout"]; !ok {
		t.Fatalf("go list did not list node/fanout's imports: %s", out)
	}
	for _, err := range checkImports(imports) {
		t.Error(err)
	}
}

// TestCheckImportsCatches: the checker finds an import upwards, one
// sideways within a layer and a forbidden one, and passes the layout's
// own direction.
func TestCheckImportsCatches(t *testing.T) {
	good := map[string][]string{
		"node":                   {"node/session", "node/httpapi", "node/chat", "node/fanout", "store"},
		"node/session":           {"node/chat", "node/fanout", "node/wsconn", "node/internal/loglimit"},
		"node/fanout":            {"node/wire", "node/internal/smallmap", "store", "subjects"},
		"node/internal/smallmap": nil,
	}
	if errs := checkImports(good); len(errs) != 0 {
		t.Fatalf("the allowed direction was refused: %v", errs)
	}
	for name, bad := range map[string]map[string][]string{
		"upwards":   {"node/fanout": {"node/presence"}},
		"sideways":  {"node/session": {"node/httpapi"}},
		"forbidden": {"node/httpapi": {"node/fanout"}},
		"tooling":   {"node/chat": {"bench"}},
		"store":     {"store": {"node/wire"}},
	} {
		if errs := checkImports(bad); len(errs) == 0 {
			t.Errorf("%s import %v was allowed", name, bad)
		}
	}
}
