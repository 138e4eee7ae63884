package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
)

// testClusterLoginLimits: with the default limits (10 failed logins of an
// account in 10 minutes), failures spread over the three nodes of an R3
// cluster add up: the account is then refused on every node, its right
// password included, with 429, Retry-After and retryAfter. A node learns
// of the block from the announcement or from a counter replica, either of
// which may trail the last failure by a moment (see package authlimit):
// each node is given a few seconds to refuse.
func testClusterLoginLimits(t *testing.T, procs []*proc) {
	addrs := addrsOf(procs)
	u := register(t, addrs[0], "limited-user")
	login := func(addr, password string) (int, string, []byte) {
		b, _ := json.Marshal(map[string]string{"name": u.Name, "password": password})
		resp, err := apiClient.Post("http://"+addr+"/api/sessions", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatalf("login on %s: %v", addr, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), body
	}
	for i := range 10 {
		if st, _, body := login(addrs[i%len(addrs)], "not-the-password"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, st, body)
		}
	}
	for _, addr := range addrs {
		testwait.For(t, 5*time.Second, 50*time.Millisecond, func() error {
			st, retry, body := login(addr, "password-"+u.Name)
			var e struct {
				Error struct {
					Code       string `json:"code"`
					RetryAfter int    `json:"retryAfter"`
				} `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			secs, err := strconv.Atoi(retry)
			if st != http.StatusTooManyRequests || err != nil || secs < 1 || secs > 600 || e.Error.Code != "rate_limited" || e.Error.RetryAfter != secs {
				return fmt.Errorf("right password on %s after 10 failures: %d, Retry-After %q, %s; want 429 within 10 minutes", addr, st, retry, body)
			}
			return nil
		})
	}
}
