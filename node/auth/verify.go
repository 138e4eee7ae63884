package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// Token verification is on the connect path of every device whose token
// the node has not seen yet (after a node fails, that is every device that
// moves to this node at once), so it is written for it: golang-jwt's
// general parser costs about 60 allocations per token, this about a
// tenth. Only natter issues these tokens (Issue), so the verifier accepts
// exactly what Issue produces and nothing more general:
//
//   - the header must be the one Issue writes, byte for byte, which pins
//     the algorithm to HS256 (no "none", no algorithm confusion);
//   - the signature is HMAC-SHA256 over "header.payload" with the secret,
//     compared in constant time;
//   - the claims must have the issuer "natter", a subject and an expiry in
//     the future, and a "not before", if present, in the past.

// issuedHeader is the base64url JSON header of every token Issue signs:
// {"alg":"HS256","typ":"JWT"}.
const issuedHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

// maxTokenLen bounds what is decoded; Issue's tokens are a few hundred
// bytes.
const maxTokenLen = 4096

// verifier is the per-call scratch space of parse, pooled.
type verifier struct {
	mac     hash.Hash
	sum     [sha256.Size]byte
	sig     [sha256.Size + 2]byte // room for a sloppy encoding to be caught by length
	src     []byte                // a base64 part, copied: a string's conversion would allocate
	payload []byte
	claims  tokenClaims
}

// tokenClaims is what parse reads of a token's claims.
type tokenClaims struct {
	Sub  string `json:"sub"`
	Name string `json:"name"`
	Iss  string `json:"iss"`
	Exp  int64  `json:"exp"` // 0 (1970) when absent: refused either way
	Nbf  int64  `json:"nbf"` // 0 when absent: no constraint
	Ver  uint32 `json:"ver"` // 0 when absent: the user's first tokens
}

// parse verifies a token without the cache.
func (t *Tokens) parse(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: longer than %d bytes", ErrBadToken, maxTokenLen)
	}
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return Claims{}, fmt.Errorf("%w: not a signed JWT", ErrBadToken)
	}
	if header != issuedHeader {
		return Claims{}, fmt.Errorf("%w: unexpected header (only HS256 tokens issued by natter are accepted)", ErrBadToken)
	}
	v := t.getVerifier()
	defer t.verifiers.Put(v)

	enc := base64.RawURLEncoding
	if enc.DecodedLen(len(sig)) > len(v.sig) {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrBadToken)
	}
	v.src = append(v.src[:0], sig...)
	n, err := enc.Decode(v.sig[:], v.src)
	if err != nil || n != sha256.Size {
		return Claims{}, fmt.Errorf("%w: bad signature", ErrBadToken)
	}
	v.mac.Reset()
	_, _ = io.WriteString(v.mac, token[:len(header)+1+len(payload)])
	if !hmac.Equal(v.mac.Sum(v.sum[:0]), v.sig[:sha256.Size]) {
		return Claims{}, fmt.Errorf("%w: signature does not match", ErrBadToken)
	}

	if need := enc.DecodedLen(len(payload)); cap(v.payload) < need {
		v.payload = make([]byte, need)
	}
	v.payload = v.payload[:enc.DecodedLen(len(payload))]
	v.src = append(v.src[:0], payload...)
	n, err = enc.Decode(v.payload, v.src)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not base64url", ErrBadToken)
	}
	v.claims = tokenClaims{}
	if err := json.Unmarshal(v.payload[:n], &v.claims); err != nil {
		return Claims{}, fmt.Errorf("%w: claims are not JSON", ErrBadToken)
	}
	c := &v.claims
	now := t.now()
	switch {
	case c.Iss != issuer:
		return Claims{}, fmt.Errorf("%w: issuer %q", ErrBadToken, c.Iss)
	case c.Sub == "":
		return Claims{}, fmt.Errorf("%w: no subject", ErrBadToken)
	case c.Exp == 0:
		return Claims{}, fmt.Errorf("%w: no expiry", ErrBadToken)
	case !now.Before(time.Unix(c.Exp, 0)):
		return Claims{}, fmt.Errorf("%w: expired", ErrBadToken)
	case c.Nbf != 0 && now.Before(time.Unix(c.Nbf, 0)):
		return Claims{}, fmt.Errorf("%w: not valid yet", ErrBadToken)
	}
	return Claims{UserID: c.Sub, Name: c.Name, Expiry: time.Unix(c.Exp, 0), Version: c.Ver}, nil
}

func (t *Tokens) getVerifier() *verifier {
	if v, ok := t.verifiers.Get().(*verifier); ok {
		return v
	}
	return &verifier{mac: hmac.New(sha256.New, t.secret)}
}
