package auth

import (
	"errors"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	tk, err := NewTokens("0123456789abcdef0123", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, exp, err := tk.Issue("u1", "alice", 3)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(s)
	if err != nil || c.UserID != "u1" || c.Name != "alice" || c.Version != 3 || !c.Expiry.Equal(exp) {
		t.Fatalf("Verify = %+v, %v; want version 3, expiry %v", c, err, exp)
	}
}

func TestTokenRejects(t *testing.T) {
	tk, _ := NewTokens("0123456789abcdef0123", time.Hour)
	other, _ := NewTokens("another-secret-0123456", time.Hour)
	forged, _, _ := other.Issue("u1", "alice", 0)
	expired, _ := NewTokens("0123456789abcdef0123", time.Hour)
	expired.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _, _ := expired.Issue("u1", "alice", 0)
	for name, tok := range map[string]string{"garbage": "abc", "empty": "", "forged": forged, "expired": old,
		"none alg": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1MSIsImlzcyI6Im5hdHRlciJ9."} {
		if _, err := tk.Verify(tok); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: Verify = %v, want ErrBadToken", name, err)
		}
	}
}

func TestShortSecret(t *testing.T) {
	if _, err := NewTokens("short", 0); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(h, "wrong"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	a, err := LoadOrCreateSecret(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateSecret(dir)
	if err != nil || a != b || len(a) < MinSecretLen {
		t.Fatalf("second load = %q, %v; first %q", b, err, a)
	}
}

// TestVerifyCacheRespectsExpiry: a cached token stops verifying when it
// expires.
func TestVerifyCacheRespectsExpiry(t *testing.T) {
	tk, _ := NewTokens("0123456789abcdef0123", time.Hour)
	now := time.Now()
	tk.now = func() time.Time { return now }
	s, _, _ := tk.Issue("u1", "alice", 0)
	if _, err := tk.Verify(s); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Verify(s); err != nil { // from the cache
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := tk.Verify(s); !errors.Is(err, ErrBadToken) {
		t.Fatalf("expired cached token: %v", err)
	}
}
