package js

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// Every module in src/ is embedded, byte for byte: a module put in a
// subdirectory (which the pattern would miss) fails here.
func TestEmbedsEveryModule(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir("src", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".js" {
			onDisk = append(onDisk, p)
		}
		return err
	})
	if err != nil || len(onDisk) == 0 {
		t.Fatalf("no modules in src/ (%v)", err)
	}
	embedded, err := fs.Glob(Modules, "src/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(onDisk) {
		t.Fatalf("embedded %q, on disk %q", embedded, onDisk)
	}
	for _, name := range onDisk {
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Modules.ReadFile(filepath.ToSlash(name))
		if err != nil {
			t.Fatalf("%s not embedded: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: embedded copy differs", name)
		}
	}
}
