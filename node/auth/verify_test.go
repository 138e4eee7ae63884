package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testSecret = "0123456789abcdef0123"

// sign makes a token with the given method and claims under testSecret,
// the way a forger who knew the secret, or a misconfigured issuer, would.
func sign(t *testing.T, m jwt.SigningMethod, c jwt.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIssueHeader: the verifier accepts exactly the header Issue writes;
// a change of the signing library that changed it must fail here, not in
// production.
func TestIssueHeader(t *testing.T) {
	tk, _ := NewTokens(testSecret, time.Hour)
	s, _, _ := tk.Issue("u1", "alice", 0)
	if !strings.HasPrefix(s, issuedHeader+".") {
		t.Fatalf("Issue's header is %q, the verifier expects %q", s[:strings.IndexByte(s, '.')], issuedHeader)
	}
}

// TestVerifyRejects: every way a token can be wrong is refused with
// ErrBadToken, including tokens correctly signed with the secret whose
// claims or algorithm are not what natter issues.
func TestVerifyRejects(t *testing.T) {
	tk, _ := NewTokens(testSecret, time.Hour)
	good, _, _ := tk.Issue("u1", "alice", 0)
	h, rest, _ := strings.Cut(good, ".")
	p, sig, _ := strings.Cut(rest, ".")
	future := jwt.NewNumericDate(time.Now().Add(time.Hour))
	cases := map[string]string{
		"tampered payload": h + "." + p[:len(p)-2] + "AA." + sig,
		"tampered sig":     h + "." + p + "." + sig[:len(sig)-2] + "AA",
		"padded sig":       h + "." + p + "." + sig + "=",
		"extra segment":    good + ".x",
		"two segments":     h + "." + p,
		"huge":             good + strings.Repeat("A", maxTokenLen),
		"HS384":            sign(t, jwt.SigningMethodHS384, jwt.RegisteredClaims{Subject: "u1", Issuer: issuer, ExpiresAt: future}),
		"other issuer":     sign(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "u1", Issuer: "evil", ExpiresAt: future}),
		"no subject":       sign(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Issuer: issuer, ExpiresAt: future}),
		"no expiry":        sign(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "u1", Issuer: issuer}),
		"not yet valid":    sign(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "u1", Issuer: issuer, ExpiresAt: future, NotBefore: future}),
	}
	for name, tok := range cases {
		if c, err := tk.Verify(tok); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: Verify = %+v, %v; want ErrBadToken", name, c, err)
		}
	}
	// The library's HS256 tokens with natter's claims are accepted: the
	// verifier is stricter only about what natter never issues.
	ok := sign(t, jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "u2", Issuer: issuer, ExpiresAt: future})
	if c, err := tk.Verify(ok); err != nil || c.UserID != "u2" {
		t.Fatalf("a valid HS256 token: %+v, %v", c, err)
	}
}
