package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Passwords are 8 to 256 characters of any UTF-8 (docs/api.md), so up to
// 1024 bytes, but bcrypt reads at most 72 bytes of its input, and
// x/crypto's GenerateFromPassword refuses longer ones rather than cut
// them. So a new hash is bcrypt over a fixed-size digest of the whole
// password:
//
//	"v2:" + bcrypt(base64(HMAC-SHA-256(key = prehashKey, password)))
//
//   - Every byte of the password counts: two passwords that differ only
//     after byte 72 give different digests (with plain bcrypt they would
//     be the same password).
//   - The digest is 44 base64 characters: under bcrypt's 72 bytes, and
//     without the NUL bytes a raw digest could hold (C implementations of
//     bcrypt stop at a NUL; x/crypto does not, but the stored hash should
//     mean the same everywhere).
//   - Short passwords are not weakened: a guess still costs one bcrypt at
//     the same cost; the digest has 256 bits, more than any password fed
//     to it.
//   - HMAC with a key of natter's own rather than a bare SHA-256, so that
//     a list of unsalted SHA-256 password digests leaked elsewhere cannot
//     be tried against these hashes without knowing the passwords
//     ("password shucking"). The key is not a secret (not a pepper): a
//     pepper such as the cluster secret would lock every user out when
//     the secret is rotated.
//
// Why not argon2id: it is memory-hard by design, tens of MiB per hash at
// the recommended settings, paid on every login and registration of a
// node whose memory is sized for connections; a storm of logins would
// then cost memory, not only CPU. Bcrypt over a digest keeps the cost of
// a login (time and memory) what it was, so the unknown-user path
// (httpapi's dummy hash) still takes as long as a wrong password.
//
// Hashes made before the prefix existed are plain bcrypt of the password
// ("$2a$..."); CheckPassword still verifies them, so users registered
// before keep logging in with their password.

// prehashedPrefix marks a hash of the current scheme. A plain bcrypt hash
// starts with "$2", so the two cannot be confused.
const prehashedPrefix = "v2:"

// prehashKey is the HMAC key of the digest: a constant that makes the
// digest natter's own (see above), not a secret.
var prehashKey = []byte("natter password digest v2")

// bcryptMaxBytes is the most of a password bcrypt reads.
const bcryptMaxBytes = 72

// prehashedLen is the length of a digest in base64 (with padding).
var prehashedLen = base64.StdEncoding.EncodedLen(sha256.Size)

// Bcrypt costs a node may hash new passwords at: each step up doubles
// the time of a registration, a login and a password change.
const (
	// DefaultPasswordCost is bcrypt's own default, about 50 ms a hash on
	// a current core.
	DefaultPasswordCost = bcrypt.DefaultCost
	// MinPasswordCost is bcrypt's lowest, for load tests that register
	// many users: far too cheap against a stolen hash.
	MinPasswordCost = bcrypt.MinCost
	// MaxPasswordCost is bcrypt's highest.
	MaxPasswordCost = bcrypt.MaxCost
)

// HashPassword returns a hash of password to store: bcrypt at cost over
// the password's digest, marked with the scheme's prefix. A cost of 0 is
// DefaultPasswordCost. A hash keeps its cost: changing the node's later
// changes only new hashes.
func HashPassword(password string, cost int) ([]byte, error) {
	if cost == 0 {
		cost = DefaultPasswordCost
	}
	h, err := bcrypt.GenerateFromPassword(prehash(password), cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	return append([]byte(prehashedPrefix), h...), nil
}

// CheckPassword compares password with a stored hash: one from
// HashPassword, or a plain bcrypt hash made before the prefix existed.
// Either way it costs one bcrypt, whatever the answer, so that timing
// does not tell which scheme a user's hash is of.
func CheckPassword(hash []byte, password string) error {
	if h, ok := bytes.CutPrefix(hash, []byte(prehashedPrefix)); ok {
		if bcrypt.CompareHashAndPassword(h, prehash(password)) != nil {
			return ErrBadPassword
		}
		return nil
	}
	// A plain bcrypt hash. Every one was made by GenerateFromPassword,
	// which refuses passwords over 72 bytes, so a longer password is
	// never the right one; CompareHashAndPassword would compare only its
	// first 72 bytes and accept it. It is refused after the comparison,
	// not before, to cost the same time as any other wrong password.
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil || len(password) > bcryptMaxBytes {
		return ErrBadPassword
	}
	return nil
}

// prehash returns the base64 HMAC-SHA-256 digest of password that bcrypt
// reads instead of the password.
func prehash(password string) []byte {
	mac := hmac.New(sha256.New, prehashKey)
	mac.Write([]byte(password))
	out := make([]byte, prehashedLen)
	base64.StdEncoding.Encode(out, mac.Sum(nil))
	return out
}
