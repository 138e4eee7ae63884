package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/natterchat/natter/store"
)

func TestCreateUser(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	if err := e.st.CreateUser(ctx, store.User{ID: "u1", Name: "Alice", Roles: []string{"admin"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		u    store.User
		want error
	}{
		{"same name other case", store.User{ID: "u2", Name: "ALICE"}, store.ErrNameTaken},
		{"same name padded", store.User{ID: "u2", Name: " alice "}, store.ErrNameTaken},
		{"same id", store.User{ID: "u1", Name: "Bob"}, store.ErrConflict},
		{"bad id", store.User{ID: "u.1", Name: "Carol"}, store.ErrInvalid},
		{"empty name", store.User{ID: "u3", Name: ""}, store.ErrInvalid},
		{"blank name", store.User{ID: "u3", Name: "   "}, store.ErrInvalid},
		{"long name", store.User{ID: "u3", Name: strings.Repeat("é", 65)}, store.ErrInvalid},
		{"control char", store.User{ID: "u3", Name: "a\nb"}, store.ErrInvalid},
		{"max length name", store.User{ID: "u4", Name: strings.Repeat("é", 64)}, nil},
		{"emoji name", store.User{ID: "u5", Name: "Dana 🦊"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := e.st.CreateUser(ctx, tc.u)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CreateUser(%+v) = %v, want %v", tc.u, err, tc.want)
			}
		})
	}
	// The failed "same id" attempt released its name claim.
	if err := e.st.CreateUser(ctx, store.User{ID: "u6", Name: "bob"}); err != nil {
		t.Fatalf("name of a failed create stays claimed: %v", err)
	}

	u, err := e.st.User(ctx, "u1")
	if err != nil || u.Name != "Alice" || len(u.Roles) != 1 || u.CreatedAt.IsZero() {
		t.Fatalf("User = %+v, %v", u, err)
	}
	for _, name := range []string{"alice", "ALICE", " Alice"} {
		if u, err := e.st.UserByName(ctx, name); err != nil || u.ID != "u1" {
			t.Fatalf("UserByName(%q) = %+v, %v", name, u, err)
		}
	}
	if _, err := e.st.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UserByName(nobody) = %v", err)
	}
	if _, err := e.st.User(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(nobody) = %v", err)
	}
}
