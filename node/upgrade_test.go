package node

import (
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestGuestIdentity: a guest's id and device id are distinct random ids in
// newID's format, and its name is "guest-" and the id's first 8
// characters, though all three share one allocation.
func TestGuestIdentity(t *testing.T) {
	n := &Node{cfg: Config{AllowGuests: true}}
	seen := make(map[string]bool)
	for range 100 {
		who, err := n.identify("")
		if err != nil {
			t.Fatalf("identify a guest: %v", err)
		}
		for _, id := range []string{who.id, who.device} {
			u, err := uuid.Parse(id)
			if err != nil || len(id) != idLen || u.Version() != 4 || u.Variant() != uuid.RFC4122 {
				t.Fatalf("id %q is not a random id like newID's (%v)", id, err)
			}
			if seen[id] {
				t.Fatalf("id %q came twice", id)
			}
			seen[id] = true
		}
		if !who.guest || who.name != "guest-"+who.id[:8] || !strings.HasPrefix(who.name, "guest-") {
			t.Fatalf("guest identity %+v: want guest, named guest-<first 8 of id>", who)
		}
	}
}
