package authlimit

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"strings"

	"github.com/natterchat/natter/subjects"
)

// Rule names what a counter counts; it is a token of the counter's
// subject.
type Rule string

// The rules.
const (
	// LoginAccount counts failed logins naming one account.
	LoginAccount Rule = "login-account"
	// LoginSource counts failed logins from one source address.
	LoginSource Rule = "login-source"
	// RegisterSource counts registrations from one source address.
	RegisterSource Rule = "register-source"
)

// Key is one counter: a rule and whom it counts.
type Key struct {
	Rule    Rule
	subject string
}

// Account is the key of failed logins naming an account. Names are
// compared as the store compares them (ignoring case and surrounding
// space), so "Alice" and "alice " share a counter; the name is digested,
// so the stream holds no names that were tried, and any length fits a
// subject token.
func Account(name string) Key {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(name))))
	return Key{Rule: LoginAccount, subject: subjects.AuthCount(string(LoginAccount), base64.RawURLEncoding.EncodeToString(sum[:16]))}
}

// Source is the key of rule for the address of remoteAddr (an
// http.Request's RemoteAddr, "ip:port"). IPv6 addresses count per /64,
// the block one subscriber usually holds.
func Source(rule Rule, remoteAddr string) Key {
	return Key{Rule: rule, subject: subjects.AuthCount(string(rule), sourceToken(remoteAddr))}
}

// sourceToken encodes the source address of remoteAddr as a subject
// token: "4-127-0-0-1", or "6-" and the hex of the /64 prefix.
func sourceToken(remoteAddr string) string {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remoteAddr); err == nil {
		addr = a
	} else {
		// Not an IP (a unix socket, a test's pipe): one counter for all
		// of them.
		return "other"
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return "4-" + strings.ReplaceAll(addr.String(), ".", "-")
	}
	b := addr.As16()
	return "6-" + hex.EncodeToString(b[:8])
}

// validSubject reports whether s is a counter subject of a known rule
// (an announcement names one).
func validSubject(s string) bool {
	for _, r := range []Rule{LoginAccount, LoginSource, RegisterSource} {
		if tok, ok := strings.CutPrefix(s, subjects.AuthCount(string(r), "")); ok {
			return subjects.ValidID(tok)
		}
	}
	return false
}
