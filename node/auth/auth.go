// Package auth issues and verifies natter's access tokens (HS256 JWTs signed
// with the cluster secret) and hashes passwords with bcrypt (password.go).
//
// It holds no state beyond the secret; users live in package store.
package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Errors.
var (
	ErrBadToken    = errors.New("auth: invalid token")
	ErrBadPassword = errors.New("auth: wrong password")
)

// DefaultTTL is how long a token is valid.
const DefaultTTL = 24 * time.Hour

// MinSecretLen is the shortest accepted signing secret.
const MinSecretLen = 16

// Claims is what a token asserts.
type Claims struct {
	UserID string
	Name   string
	Expiry time.Time
	// Version is the user's token version when the token was issued: a
	// token is revoked once the user's version is higher.
	Version uint32
}

// verifiedCacheSize bounds the cache of verified tokens.
const verifiedCacheSize = 10000

// Tokens signs and verifies tokens with one secret. Verified tokens are
// remembered (until they expire, at most verifiedCacheSize of them), so a
// device that reconnects with its token — every device, after a drain —
// is not parsed and HMAC-checked again.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	verified map[string]Claims // guarded by mu: token -> its claims

	verifiers sync.Pool // of *verifier, parse's scratch space
}

// issuer is the "iss" claim of natter's tokens.
const issuer = "natter"

// NewTokens returns a signer for secret; ttl 0 means DefaultTTL.
func NewTokens(secret string, ttl time.Duration) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("auth: secret must be at least %d characters", MinSecretLen)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Tokens{secret: []byte(secret), ttl: ttl, now: time.Now, verified: make(map[string]Claims)}, nil
}

type jwtClaims struct {
	Name    string `json:"name"`
	Version uint32 `json:"ver,omitempty"`
	jwt.RegisteredClaims
}

// Issue returns a signed token of version for the user, and its expiry.
func (t *Tokens) Issue(userID, name string, version uint32) (string, time.Time, error) {
	now := t.now()
	exp := jwt.NewNumericDate(now.Add(t.ttl)) // whole seconds, as Verify reads it
	c := jwtClaims{
		Name:    name,
		Version: version,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   userID,
			Issuer:    issuer,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: exp,
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("auth: sign token: %w", err)
	}
	return s, exp.Time, nil
}

// Verify checks a token's signature, algorithm and expiry.
func (t *Tokens) Verify(token string) (Claims, error) {
	now := t.now()
	t.mu.Lock()
	c, ok := t.verified[token]
	t.mu.Unlock()
	if ok && now.Before(c.Expiry) {
		return c, nil
	}
	c, err := t.parse(token)
	if err != nil {
		return c, err
	}
	t.mu.Lock()
	if len(t.verified) >= verifiedCacheSize {
		// Forget everything rather than track recency: a full cache
		// means many distinct users, whose tokens are re-verified once.
		clear(t.verified)
	}
	t.verified[token] = c
	t.mu.Unlock()
	return c, nil
}

// LoadOrCreateSecret returns the secret stored in dir/secret, generating a
// random one (0600) the first time, so a single node keeps its tokens valid
// across restarts without configuration.
func LoadOrCreateSecret(dir string) (string, error) {
	path := filepath.Join(dir, "secret")
	b, err := os.ReadFile(path)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if len(s) < MinSecretLen {
			return "", fmt.Errorf("auth: secret in %s is shorter than %d characters", path, MinSecretLen)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("auth: read secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("auth: generate secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("auth: create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("auth: write secret: %w", err)
	}
	return s, nil
}
