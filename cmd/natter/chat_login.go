package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// login gets a token: POST /api/sessions, or with --register POST
// /api/users when the user does not exist (registered says so). It runs
// on the session's goroutine for a new login, so it writes nothing the
// session's loop reads.
func (c *chatSession) login(ctx context.Context) (token string, registered bool, err error) {
	creds := map[string]string{"name": c.o.user, "password": c.o.password}
	var out struct {
		Token string `json:"token"`
	}
	status, apiErr, err := c.post(ctx, "/api/sessions", creds, &out)
	if err != nil {
		return "", false, err
	}
	if status == http.StatusOK {
		return out.Token, false, nil
	}
	if status != http.StatusUnauthorized {
		return "", false, fmt.Errorf("chat: log in as %q: %s", c.o.user, apiErr)
	}
	if !c.o.register {
		return "", false, authError{fmt.Sprintf("chat: log in as %q: wrong name or password (--register creates a new user)", c.o.user)}
	}
	status, apiErr, err = c.post(ctx, "/api/users", creds, &out)
	if err != nil {
		return "", false, err
	}
	switch status {
	case http.StatusCreated:
		return out.Token, true, nil
	case http.StatusConflict:
		return "", false, authError{fmt.Sprintf("chat: user %q exists and the password is wrong", c.o.user)}
	default:
		return "", false, fmt.Errorf("chat: register %q: %s", c.o.user, apiErr)
	}
}

// authError is a login refused for the credentials (not for a network
// or node problem): retrying does not help.
type authError struct{ msg string }

// Error is the message for the user as it is: it already says what to
// change.
func (e authError) Error() string { return e.msg }

// post sends a JSON request; a 2xx answer is decoded into out, another
// one's error message returned as apiErr.
func (c *chatSession) post(ctx context.Context, path string, body, out any) (status int, apiErr string, err error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.ep.api+path, bytes.NewReader(b))
	if err != nil {
		return 0, "", fmt.Errorf("chat: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.httpc.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("chat: %s: %w", c.ep.api, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return 0, "", fmt.Errorf("chat: POST %s: bad answer: %w", path, err)
		}
		return resp.StatusCode, "", nil
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
		return resp.StatusCode, e.Error.Code + ": " + e.Error.Message, nil
	}
	return resp.StatusCode, resp.Status, nil
}
