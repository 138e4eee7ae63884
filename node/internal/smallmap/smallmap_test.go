package smallmap

import (
	"fmt"
	"maps"
	"testing"
)

// TestMatchesMap drives a Map and a Go map through the same
// growth past max and shrinking back, and checks they agree.
func TestMatchesMap(t *testing.T) {
	var m Map[int]
	want := map[string]int{}
	check := func(step string) {
		t.Helper()
		if m.Len() != len(want) {
			t.Fatalf("%s: len %d, want %d", step, m.Len(), len(want))
		}
		got := maps.Collect(m.All())
		if !maps.Equal(got, want) {
			t.Fatalf("%s: entries %v, want %v", step, got, want)
		}
		for k, v := range want {
			if g, ok := m.Get(k); !ok || g != v {
				t.Fatalf("%s: Get(%q) = %d, %v; want %d", step, k, g, ok, v)
			}
		}
		if _, ok := m.Get("absent"); ok {
			t.Fatalf("%s: absent key found", step)
		}
	}
	check("empty")
	for i := range 3 * max {
		k := fmt.Sprint("k", i)
		m.Set(k, i)
		want[k] = i
		check("add " + k)
	}
	if m.big == nil {
		t.Fatal("never became a map")
	}
	m.Set("k1", 100) // overwrite
	want["k1"] = 100
	check("overwrite")
	for i := range 3 * max {
		k := fmt.Sprint("k", i)
		m.Delete(k)
		delete(want, k)
		m.Delete(k) // deleting twice is harmless
		check("delete " + k)
	}
	if m.big != nil || len(m.small) != 0 {
		t.Fatalf("not empty after deleting everything: %+v", m)
	}
}
