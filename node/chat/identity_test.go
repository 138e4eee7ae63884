package chat

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestNewGuest: a guest's id and device id are distinct random ids in
// NewID's format, and its name is "guest-" and the id's first 8
// characters, though all three share one allocation.
func TestNewGuest(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		who := NewGuest()
		for _, id := range []string{who.ID, who.Device} {
			u, err := uuid.Parse(id)
			if err != nil || len(id) != idLen || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
				t.Fatalf("id %q is not a random id like NewID's (%v)", id, err)
			}
			if seen[id] {
				t.Fatalf("id %q came twice", id)
			}
			seen[id] = true
		}
		if !who.Guest || who.Name != "guest-"+who.ID[:8] || !strings.HasPrefix(who.Name, "guest-") {
			t.Fatalf("guest identity %+v: want guest, named guest-<first 8 of id>", who)
		}
	}
}
