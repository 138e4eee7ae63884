package chatset

import (
	"slices"
	"testing"
)

// TestSet: adds keep the set sorted and unique, removes report whether
// the id was there.
func TestSet(t *testing.T) {
	var s Set
	for _, id := range []string{"c", "a", "b", "a"} {
		s.Add(id)
	}
	if !slices.Equal(s, Set{"a", "b", "c"}) {
		t.Fatalf("set = %v, want [a b c]", s)
	}
	if s.Add("b") {
		t.Fatal("Add of a present id reported true")
	}
	if !s.Has("b") || s.Has("d") {
		t.Fatalf("Has: b %v, d %v", s.Has("b"), s.Has("d"))
	}
	if !s.Remove("b") || s.Remove("b") || s.Has("b") {
		t.Fatalf("Remove b twice: set %v", s)
	}
	if !slices.Equal(s, Set{"a", "c"}) {
		t.Fatalf("set = %v, want [a c]", s)
	}
}
