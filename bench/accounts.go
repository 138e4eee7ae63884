package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// benchPassword is every bench account's password.
const benchPassword = "natter-bench-password"

// httpBase turns ws://host/ws into http://host.
func httpBase(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "", fmt.Errorf("bench: parse %q: %w", wsURL, err)
	}
	scheme := "http"
	if u.Scheme == "wss" {
		scheme = "https"
	}
	return scheme + "://" + u.Host, nil
}

var apiClient = &http.Client{Timeout: 30 * time.Second}

// apiCall does one JSON request against the node's HTTP API.
func apiCall(ctx context.Context, method, u, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("bench: encode %s %s: %w", method, u, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, u, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusTooManyRequests && strings.HasSuffix(u, "/api/users") {
		// Every account comes from this one address.
		return fmt.Errorf("bench: %s %s: %s: %s (start the nodes with --max-registrations-per-source -1, or use --guests)", method, u, resp.Status, bytes.TrimSpace(b))
	}
	if resp.StatusCode == http.StatusNotFound && strings.HasSuffix(u, "/api/stats") {
		// A node with an admin port serves its stats only there.
		return fmt.Errorf("bench: %s %s: %s (a node started with --admin-listen serves /api/stats on that address: give it with --stats-url)", method, u, resp.Status)
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("bench: %s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("bench: decode %s %s: %w", method, u, err)
		}
	}
	return nil
}

// setupAccounts registers one user per connection (POST /api/users),
// creates every chat (POST /api/chats; direct chats with their other
// member) and joins the other members (POST /api/chats/{id}/join), all
// against the connection's own node, with bounded concurrency.
func setupAccounts(ctx context.Context, c *Config, p *Plan) error {
	users := make([]string, len(p.Conns))
	err := parallel(ctx, len(p.Conns), 16, func(i int) error {
		base, err := httpBase(p.Conns[i].URL)
		if err != nil {
			return err
		}
		var out struct {
			User  string `json:"user"`
			Token string `json:"token"`
		}
		name := fmt.Sprintf("bench-%s-u%d", c.RunID, i)
		if err := apiCall(ctx, http.MethodPost, base+"/api/users", "", map[string]string{"name": name, "password": benchPassword}, &out); err != nil {
			return fmt.Errorf("register user %d: %w", i, err)
		}
		users[i], p.Conns[i].Token = out.User, out.Token
		return nil
	})
	if err != nil {
		return err
	}
	if err := createChats(ctx, c, p, p.Chats, users); err != nil {
		return err
	}
	return createChats(ctx, c, p, p.Quiet, users)
}

// createChats creates chats (the first member owns each) and joins the
// other members, each through its connection's node.
func createChats(ctx context.Context, c *Config, p *Plan, chats []ChatPlan, users []string) error {
	return parallel(ctx, len(chats), 16, func(k int) error {
		ch := &chats[k]
		if len(ch.Members) == 0 {
			return nil
		}
		owner := &p.Conns[ch.Members[0]]
		base, err := httpBase(owner.URL)
		if err != nil {
			return err
		}
		req := map[string]any{"name": ch.Name, "kind": "public"}
		if c.Scenario == ScenarioDirect && len(ch.Members) == 2 {
			req = map[string]any{"kind": "direct", "members": []string{users[ch.Members[1]]}}
		}
		var out struct {
			ID string `json:"id"`
		}
		if err := apiCall(ctx, http.MethodPost, base+"/api/chats", owner.Token, req, &out); err != nil {
			return fmt.Errorf("create chat %d: %w", k, err)
		}
		ch.ID = out.ID
		if req["kind"] == "direct" {
			return nil
		}
		for _, m := range ch.Members[1:] {
			cp := &p.Conns[m]
			b, err := httpBase(cp.URL)
			if err != nil {
				return err
			}
			if err := apiCall(ctx, http.MethodPost, b+"/api/chats/"+ch.ID+"/join", cp.Token, nil, nil); err != nil {
				return fmt.Errorf("join chat %d as conn %d: %w", k, m, err)
			}
		}
		return nil
	})
}

// parallel runs f(0..n-1) on at most width goroutines and returns the
// first error.
func parallel(ctx context.Context, n, width int, f func(int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	for range min(width, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// statsBase is where the node behind wsURL serves /api/stats: its
// --stats-url, or its own address.
func (c *Config) statsBase(wsURL string) string {
	for i, u := range c.URLs {
		if u == wsURL && i < len(c.StatsURLs) {
			return strings.TrimSuffix(c.StatsURLs[i], "/")
		}
	}
	base, err := httpBase(wsURL)
	if err != nil {
		return wsURL // apiCall reports it
	}
	return base
}

// nodeStats reads GET /api/stats at base (http://host:port).
func nodeStats(ctx context.Context, base string) (map[string]any, error) {
	var out map[string]any
	if err := apiCall(ctx, http.MethodGet, base+"/api/stats", "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
