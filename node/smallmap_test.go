package node

import (
	"fmt"
	"maps"
	"testing"
)

// TestSmallMapMatchesMap drives a smallMap and a Go map through the same
// growth past smallMapMax and shrinking back, and checks they agree.
func TestSmallMapMatchesMap(t *testing.T) {
	var m smallMap[int]
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		if m.len() != len(want) {
			t.Fatalf("%s: len %d, want %d", step, m.len(), len(want))
		}
		got := maps.Collect(m.all())
		if !maps.Equal(got, want) {
			t.Fatalf("%s: entries %v, want %v", step, got, want)
		}
		for k, v := range want {
			if g, ok := m.get(k); !ok || g != v {
				t.Fatalf("%s: get(%q) = %d, %v; want %d", step, k, g, ok, v)
			}
		}
		if _, ok := m.get("absent"); ok {
			t.Fatalf("%s: absent key found", step)
		}
	}
	check("empty")
	for i := range 3 * smallMapMax {
		k := fmt.Sprint("k", i)
		m.set(k, i)
		want[k] = i
		check("add " + k)
	}
	if m.big == nil {
		t.Fatal("never became a map")
	}
	m.set("k1", 100) // overwrite
	want["k1"] = 100
	check("overwrite")
	for i := range 3 * smallMapMax {
		k := fmt.Sprint("k", i)
		m.delete(k)
		delete(want, k)
		m.delete(k) // deleting twice is harmless
		check("delete " + k)
	}
	if m.big != nil || len(m.small) != 0 {
		t.Fatalf("not empty after deleting everything: %+v", m)
	}
}
