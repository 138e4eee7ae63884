package node

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// source is an HTTP client whose connections come from one loopback
// address (127.0.0.0/8 is all loopback on Linux), so a test can be many
// source addresses at once.
type source struct {
	t      *testing.T
	ip     string
	client *http.Client
}

func from(t *testing.T, ip string) source {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return source{t: t, ip: ip, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// limitAnswer is what a limited route answered.
type limitAnswer struct {
	status     int
	retryAfter string // the header
	err        struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		RetryAfter int64  `json:"retryAfter"`
	}
}

// post sends a JSON body to tn from this source.
func (s source) post(tn *testNode, path string, body any) limitAnswer {
	s.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := s.client.Post(tn.url(path), "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatalf("POST %s from %s: %v", path, s.ip, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := limitAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	if resp.StatusCode >= 400 {
		var e struct {
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || json.Unmarshal(e.Error, &a.err) != nil {
			s.t.Fatalf("POST %s from %s: %d with body %q, not the API's error shape", path, s.ip, resp.StatusCode, raw)
		}
	}
	return a
}

func (s source) login(tn *testNode, name, password string) limitAnswer {
	s.t.Helper()
	return s.post(tn, "/api/sessions", map[string]string{"name": name, "password": password})
}

func (s source) registerUser(tn *testNode, name string) limitAnswer {
	s.t.Helper()
	return s.post(tn, "/api/users", map[string]string{"name": name, "password": "password-" + name})
}

// want fails unless the answer has the status (and for 429, a
// Retry-After of 1 to max seconds that the body's retryAfter repeats,
// and rate_limited with a message containing what).
func (a limitAnswer) want(t *testing.T, step string, status int, max time.Duration, what string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d (%+v), want %d", step, a.status, a.err, status)
	}
	if status != http.StatusTooManyRequests {
		return
	}
	secs, err := strconv.Atoi(a.retryAfter)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > max {
		t.Fatalf("%s: Retry-After %q, want 1 to %v in seconds", step, a.retryAfter, max)
	}
	if a.err.Code != wire.CodeRateLimited || a.err.RetryAfter != int64(secs) || !strings.Contains(a.err.Message, what) {
		t.Fatalf("%s: error %+v, want rate_limited, retryAfter %d, a message saying %q", step, a.err, secs, what)
	}
}

// TestLoginLimitsAcrossNodes: two nodes on one NATS count failed logins
// and registrations together. Failures of one account from three
// addresses on both nodes block it on both, right password included
// (429 with Retry-After); failures from one address under different
// names block that address and no other; registrations are capped per
// address, bad input uncounted; wrong current passwords of a password
// change count as failed logins. Without the counters, logins and
// registrations fail closed (503).
func TestLoginLimitsAcrossNodes(t *testing.T) {
	ns := storetest.RunServer(t)
	const window = 5 * time.Minute
	shared := func(c *Config) {
		c.NATSURL = ns.ClientURL()
		c.MaxLoginFailuresPerAccount, c.MaxLoginFailuresPerSource, c.MaxRegistrationsPerSource = 3, 4, 2
		c.AuthLimitWindow = window
	}
	a, b := startNode(t, shared), startNode(t, shared)
	from(t, "127.0.0.10").registerUser(a, "victim").want(t, "register victim", http.StatusCreated, 0, "")
	from(t, "127.0.0.11").registerUser(b, "bystander").want(t, "register bystander", http.StatusCreated, 0, "")

	t.Run("per account, across nodes and addresses", func(t *testing.T) {
		from(t, "127.0.0.2").login(a, "victim", "wrong-password-1").want(t, "failure 1 on a", http.StatusUnauthorized, 0, "")
		from(t, "127.0.0.3").login(b, "Victim", "wrong-password-2").want(t, "failure 2 on b", http.StatusUnauthorized, 0, "")
		from(t, "127.0.0.4").login(a, "victim", "wrong-password-3").want(t, "failure 3 on a", http.StatusUnauthorized, 0, "")
		// The limit is reached: the right password, from a fourth
		// address, on either node, is refused.
		from(t, "127.0.0.5").login(b, "victim", "password-victim").want(t, "right password on b", http.StatusTooManyRequests, window, "for this account")
		from(t, "127.0.0.5").login(a, "victim", "password-victim").want(t, "right password on a", http.StatusTooManyRequests, window, "for this account")
		// Another account from an address that failed once logs in.
		from(t, "127.0.0.2").login(b, "bystander", "password-bystander").want(t, "another account", http.StatusOK, 0, "")
	})

	t.Run("per source address", func(t *testing.T) {
		s := from(t, "127.0.0.6")
		for i, tn := range []*testNode{a, b, a, b} {
			s.login(tn, "nobody-"+strconv.Itoa(i), "whatever-password").want(t, "failure "+strconv.Itoa(i+1), http.StatusUnauthorized, 0, "")
		}
		s.login(a, "bystander", "password-bystander").want(t, "the blocked address", http.StatusTooManyRequests, window, "from this address")
		from(t, "127.0.0.7").login(a, "bystander", "password-bystander").want(t, "another address", http.StatusOK, 0, "")
	})

	t.Run("registrations per source address", func(t *testing.T) {
		s := from(t, "127.0.0.8")
		s.post(a, "/api/users", map[string]string{"name": "short-pw", "password": "short"}).want(t, "bad input", http.StatusBadRequest, 0, "")
		s.registerUser(a, "reg-1").want(t, "registration 1", http.StatusCreated, 0, "")
		s.registerUser(b, "reg-1").want(t, "registration 2, a taken name", http.StatusConflict, 0, "")
		s.registerUser(b, "reg-3").want(t, "registration 3", http.StatusTooManyRequests, window, "registrations from this address")
		s.registerUser(a, "reg-4").want(t, "registration 4", http.StatusTooManyRequests, window, "registrations from this address")
		from(t, "127.0.0.9").registerUser(a, "reg-5").want(t, "another address", http.StatusCreated, 0, "")
	})

	t.Run("wrong current passwords count", func(t *testing.T) {
		s := from(t, "127.0.0.14")
		s.registerUser(a, "changer").want(t, "register changer", http.StatusCreated, 0, "")
		var login sessionAnswer
		if st := b.api("POST", "/api/sessions", "", map[string]string{"name": "changer", "password": "password-changer"}, &login); st != http.StatusOK {
			t.Fatalf("login: %d", st)
		}
		change := func(tn *testNode, current string) limitAnswer {
			req, _ := http.NewRequest("POST", tn.url("/api/me/password"), strings.NewReader(`{"password":"`+current+`","newPassword":"a-new-password-1"}`))
			req.Header.Set("Authorization", "Bearer "+login.Token)
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			a := limitAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
			var e struct {
				Error json.RawMessage `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
				_ = json.Unmarshal(e.Error, &a.err)
			}
			return a
		}
		for i, tn := range []*testNode{a, b, a} {
			change(tn, "not-the-password").want(t, "wrong current password "+strconv.Itoa(i+1), http.StatusForbidden, 0, "")
		}
		change(b, "password-changer").want(t, "the right one", http.StatusTooManyRequests, window, "for this account")
		from(t, "127.0.0.15").login(a, "changer", "password-changer").want(t, "a login", http.StatusTooManyRequests, window, "for this account")
	})

	t.Run("fail closed", func(t *testing.T) {
		nc, err := nats.Connect(ns.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if err := js.DeleteStream(context.Background(), subjects.StreamAuthLimits); err != nil {
			t.Fatal(err)
		}
		// A failed login and a registration must be counted: without
		// the counters they are refused. (A right password needs no
		// counter on a node that has heard every announcement for a
		// window, so it may go through.)
		s := from(t, "127.0.0.12")
		for _, tn := range []*testNode{a, b} {
			for _, r := range []limitAnswer{
				s.login(tn, "bystander", "wrong-password"),
				s.registerUser(tn, "uncounted"),
			} {
				if r.status != http.StatusServiceUnavailable || r.err.Code != wire.CodeUnavailable {
					t.Errorf("without the counters: %d %+v, want 503 unavailable", r.status, r.err)
				}
			}
		}
	})

	// Both nodes refused some and report it.
	for _, tn := range []*testNode{a, b} {
		if s := tn.Stats(); s.AuthRefused == 0 || s.AuthLimitErrors == 0 {
			t.Errorf("node %s: authRefused %d, authLimitErrors %d; want both counted", tn.addr, s.AuthRefused, s.AuthLimitErrors)
		}
	}
}
