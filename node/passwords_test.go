package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/store"
)

// TestAPILongPasswords: passwords past bcrypt's 72 bytes register and log
// in over real HTTP against a real node (they used to get a 500), every
// character of them counts, and a user whose hash was stored by the
// earlier scheme (plain bcrypt) still logs in.
func TestAPILongPasswords(t *testing.T) {
	tn := startNode(t, nil)

	// 200 characters, 283 bytes: multi-byte, so the bytes and the
	// characters differ, as the documented bound is in characters.
	pw := strings.Repeat("pässwörd-", 22) + "密码"
	if n := utf8.RuneCountInString(pw); n != 200 || len(pw) <= 72 {
		t.Fatalf("password has %d characters, %d bytes", n, len(pw))
	}
	// Decoded into structs, not maps of strings, so that an error body
	// fails on its status rather than on decoding.
	var reg struct{ User, Token string }
	if st := tn.api("POST", "/api/users", "", map[string]string{"name": "longpass", "password": pw}, &reg); st != http.StatusCreated {
		t.Fatalf("register with a %d-byte password: status %d", len(pw), st)
	}
	login := func(name, password string) (int, struct{ User, Token string }) {
		var out struct{ User, Token string }
		st := tn.api("POST", "/api/sessions", "", map[string]string{"name": name, "password": password}, &out)
		return st, out
	}
	st, out := login("longpass", pw)
	if st != http.StatusOK || out.User != reg.User || out.Token == "" {
		t.Fatalf("login: %d %+v", st, out)
	}
	if st := tn.api("GET", "/api/me", out.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("/api/me with the login's token: %d", st)
	}

	// Wrong passwords: the last character changed (far past byte 72),
	// and the first 72 bytes alone (what plain bcrypt would compare).
	r := []rune(pw)
	r[len(r)-1] = 'x'
	for name, wrong := range map[string]string{"last character": string(r), "first 72 bytes": pw[:72]} {
		t.Run(name, func(t *testing.T) {
			wantAPIError(t, tn.scopedTo(t), "POST", "/api/sessions", "", map[string]string{"name": "longpass", "password": wrong}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
		})
	}

	// The longest password: 256 characters of 4 bytes each.
	longest := strings.Repeat("🔑", 256)
	if st := tn.api("POST", "/api/users", "", map[string]string{"name": "longest", "password": longest}, nil); st != http.StatusCreated {
		t.Fatalf("register with 256 four-byte characters: status %d", st)
	}
	if st, _ := login("longest", longest); st != http.StatusOK {
		t.Fatalf("login with 256 four-byte characters: %d", st)
	}

	// An unknown user is refused the same way (the dummy hash).
	wantAPIError(t, tn, "POST", "/api/sessions", "", map[string]string{"name": "nobody", "password": pw}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
}

// TestAPILegacyPasswordHash: a user stored with a plain bcrypt hash (the
// scheme before passwords were digested first) logs in with its password
// through the real API, and not with a wrong one.
func TestAPILegacyPasswordHash(t *testing.T) {
	tn := startNode(t, nil)
	const pw = "password-from-before"
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := store.User{ID: chat.NewID(), Name: "oldtimer", PasswordHash: hash, CreatedAt: time.Now().UTC()}
	if err := tn.store.CreateUser(ctx, u); err != nil {
		t.Fatalf("store a user with an old hash: %v", err)
	}
	var out struct{ User string }
	if st := tn.api("POST", "/api/sessions", "", map[string]string{"name": "oldtimer", "password": pw}, &out); st != http.StatusOK || out.User != u.ID {
		t.Fatalf("login with an old hash: %d %v", st, out)
	}
	wantAPIError(t, tn, "POST", "/api/sessions", "", map[string]string{"name": "oldtimer", "password": pw + "!"}, http.StatusUnauthorized, httpapi.CodeUnauthorized)
}

// TestPasswordCost: a node's PasswordCost is the bcrypt cost of the
// hashes it makes, at registration and at a password change, and users
// log in with them; a cost bcrypt does not have is refused at start.
func TestPasswordCost(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.PasswordCost = 5 })
	ctx := context.Background()
	cost := func(name string) int {
		t.Helper()
		u, err := tn.store.UserByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := bcrypt.Cost(u.PasswordHash[len("v2:"):])
		if err != nil {
			t.Fatalf("stored hash %q: %v", u.PasswordHash, err)
		}
		return c
	}
	var reg struct{ User, Token string }
	if st := tn.api("POST", "/api/users", "", map[string]string{"name": "cheap", "password": "correct horse"}, &reg); st != http.StatusCreated {
		t.Fatalf("register: %d", st)
	}
	if c := cost("cheap"); c != 5 {
		t.Fatalf("registration hashed at cost %d, want 5", c)
	}
	if st := tn.api("POST", "/api/me/password", reg.Token, map[string]string{"password": "correct horse", "newPassword": "battery staple"}, nil); st/100 != 2 {
		t.Fatalf("password change: %d", st)
	}
	if c := cost("cheap"); c != 5 {
		t.Fatalf("password change hashed at cost %d, want 5", c)
	}
	var out struct{ User, Token string }
	if st := tn.api("POST", "/api/sessions", "", map[string]string{"name": "cheap", "password": "battery staple"}, &out); st != http.StatusOK || out.User != reg.User {
		t.Fatalf("login after the change: %d %+v", st, out)
	}
	for _, bad := range []int{3, 32, -1} {
		wantStartError(t, Config{PasswordCost: bad}, "not a bcrypt cost")
	}
}
