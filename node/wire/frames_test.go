package wire

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFramesListsEveryType reads this package's source: every string
// constant named Type* is a frame type, and Frames must list it, so that
// the schema check (node's TestSpec) and the unknown_type messages know
// it.
func TestFramesListsEveryType(t *testing.T) {
	listed := make(map[string]bool)
	for _, f := range Frames {
		key := f.Type + "/" + string(f.Dir)
		if listed[key] {
			t.Errorf("Frames lists %s (%s) twice", f.Type, f.Dir)
		}
		listed[key], listed[f.Type] = true, true
		if f.Dir != FromClient && f.Dir != FromServer {
			t.Errorf("Frames: %s has direction %q", f.Type, f.Dir)
		}
	}
	for _, c := range typeConstants(t) {
		if !listed[c.value] {
			t.Errorf("%s (%q, node/wire/%s) is not in wire.Frames: add {Channel, %s, FromClient or FromServer} to Frames in node/wire/frames.go, then its schema docs/schemas/<client|server>/%s.json",
				c.name, c.value, c.file, c.name, c.value)
		}
	}
}

// typeConstant is a string constant named Type* in this package's source.
type typeConstant struct{ name, value, file string }

func typeConstants(t *testing.T) []typeConstant {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []typeConstant
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if !strings.HasPrefix(id.Name, "Type") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, typeConstant{id.Name, v, name})
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		t.Fatal("found no Type* constants: the scan is broken")
	}
	return out
}
