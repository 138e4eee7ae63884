package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Most of these tests hash at bcrypt's lowest cost: the scheme is the
// same at any cost, and the race detector makes the default cost slow.

// TestPasswordLengths: every documented length verifies (8 to 256
// characters, ASCII and multi-byte, so up to 1024 bytes), around bcrypt's
// 72-byte limit too, and the same password with its last character
// changed does not.
func TestPasswordLengths(t *testing.T) {
	cases := map[string]string{
		"8 ASCII":            "p4ssw0rd",
		"72 ASCII":           strings.Repeat("a", 71) + "z",
		"73 ASCII":           strings.Repeat("a", 72) + "z",
		"256 ASCII":          strings.Repeat("correct horse ", 19)[:255] + "!",
		"256 two-byte":       strings.Repeat("é", 255) + "ü",
		"256 four-byte":      strings.Repeat("😀", 255) + "🎉", // 1024 bytes
		"mixed over 72":      strings.Repeat("päss wörd 密码 ", 8),
		"NUL inside":         "abcd\x00efgh",
		"72 bytes at a rune": strings.Repeat("€", 24), // 3 bytes each
	}
	for name, pw := range cases {
		t.Run(name, func(t *testing.T) {
			if n := utf8.RuneCountInString(pw); strings.HasPrefix(name, "256") && n != 256 {
				t.Fatalf("case has %d characters", n)
			}
			h, err := HashPassword(pw, MinPasswordCost)
			if err != nil {
				t.Fatalf("hash %d bytes: %v", len(pw), err)
			}
			if err := CheckPassword(h, pw); err != nil {
				t.Fatalf("%d characters, %d bytes: %v", utf8.RuneCountInString(pw), len(pw), err)
			}
			r := []rune(pw)
			r[len(r)-1]++
			if err := CheckPassword(h, string(r)); !errors.Is(err, ErrBadPassword) {
				t.Fatalf("last character changed: %v, want ErrBadPassword", err)
			}
			if err := CheckPassword(h, string([]rune(pw)[:len(r)-1])); !errors.Is(err, ErrBadPassword) {
				t.Fatalf("last character dropped: %v, want ErrBadPassword", err)
			}
		})
	}
}

// TestPasswordTailCounts: passwords that differ only after byte 72 are
// different passwords (plain bcrypt would take one for the other).
func TestPasswordTailCounts(t *testing.T) {
	for _, head := range []string{strings.Repeat("x", 72), strings.Repeat("ß", 36), strings.Repeat("密", 24)} {
		if len(head) != 72 {
			t.Fatalf("head is %d bytes", len(head))
		}
		a, b := head+"-tail-one", head+"-tail-two"
		h, err := HashPassword(a, MinPasswordCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckPassword(h, b); !errors.Is(err, ErrBadPassword) {
			t.Errorf("%q verified the hash of %q: %v", b, a, err)
		}
		if err := CheckPassword(h, head); !errors.Is(err, ErrBadPassword) {
			t.Errorf("the first 72 bytes alone verified: %v", err)
		}
		if err := CheckPassword(h, a); err != nil {
			t.Errorf("the password itself: %v", err)
		}
	}
}

// TestPasswordHashFormat: a new hash is marked with its scheme, is bcrypt
// at the default cost behind the mark (short passwords are not hashed any
// cheaper than before), and is salted.
func TestPasswordHashFormat(t *testing.T) {
	h1, err := HashPassword("correct horse", 0)
	if err != nil {
		t.Fatal(err)
	}
	rest, ok := bytes.CutPrefix(h1, []byte(prehashedPrefix))
	if !ok {
		t.Fatalf("hash %q lacks the prefix %q", h1, prehashedPrefix)
	}
	if cost, err := bcrypt.Cost(rest); err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("bcrypt cost = %d, %v; want %d", cost, err, bcrypt.DefaultCost)
	}
	h2, err := HashPassword("correct horse", MinPasswordCost)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(h1[len(prehashedPrefix):len(prehashedPrefix)+29], h2[len(prehashedPrefix):len(prehashedPrefix)+29]) {
		t.Fatal("two hashes of one password share their salt")
	}
	if d := prehash(strings.Repeat("😀", 256)); len(d) > bcryptMaxBytes || bytes.IndexByte(d, 0) >= 0 {
		t.Fatalf("digest %q: %d bytes or a NUL", d, len(d))
	}
}

// TestPasswordLegacyHash: a hash stored before the scheme existed (plain
// bcrypt of the password) still verifies its password and nothing else.
func TestPasswordLegacyHash(t *testing.T) {
	for _, pw := range []string{"correct horse", strings.Repeat("k", 72), strings.Repeat("ä", 36)} {
		old, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckPassword(old, pw); err != nil {
			t.Errorf("old hash of %d bytes: %v", len(pw), err)
		}
		if err := CheckPassword(old, pw[:len(pw)-1]+"!"); !errors.Is(err, ErrBadPassword) {
			t.Errorf("old hash, wrong password: %v", err)
		}
		// bcrypt compares only the first 72 bytes; no old hash was made
		// from more, so a longer password is a wrong one.
		if len(pw) == bcryptMaxBytes {
			if err := CheckPassword(old, pw+"x"); !errors.Is(err, ErrBadPassword) {
				t.Errorf("old hash of 72 bytes took a 73-byte password: %v", err)
			}
		}
	}
	// An old hash at the default cost, as the store holds them.
	old, err := bcrypt.GenerateFromPassword([]byte("password-legacy"), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckPassword(old, "password-legacy"); err != nil {
		t.Errorf("old hash at the default cost: %v", err)
	}
}

// TestPasswordBadHash: a stored hash that is neither scheme refuses every
// password.
func TestPasswordBadHash(t *testing.T) {
	for _, h := range [][]byte{nil, []byte("v2:"), []byte("v2:garbage"), []byte("$2a$10$short"), []byte("plain")} {
		if err := CheckPassword(h, "password"); !errors.Is(err, ErrBadPassword) {
			t.Errorf("hash %q: %v, want ErrBadPassword", h, err)
		}
	}
}
