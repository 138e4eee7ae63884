package node

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
)

// TestAPIPresence: a member is listed with its devices while one is
// connected, and not after it disconnects.
func TestAPIPresence(t *testing.T) {
	tn := startNode(t, nil)
	a := tn.register("pres-a")
	b := tn.register("pres-b")
	out := tn.register("pres-out")
	var ch apiChat
	if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"name": "presence", "kind": "private", "members": []string{b.ID}}, &ch); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	path := "/api/chats/" + ch.ID + "/presence"

	onlineOf := func() (map[string]apiOnline, error) {
		var p struct {
			Chat   string
			Online []apiOnline
		}
		if st := tn.api("GET", path, a.Token, nil, &p); st != http.StatusOK || p.Chat != ch.ID || p.Online == nil {
			return nil, fmt.Errorf("presence: %d %+v", st, p)
		}
		m := map[string]apiOnline{}
		for _, o := range p.Online {
			m[o.User] = o
		}
		return m, nil
	}
	if m, err := onlineOf(); err != nil || len(m) != 0 {
		t.Fatalf("nobody connected: %v %v", m, err)
	}

	b1 := tn.dialUser(b)
	b2 := tn.dialUser(b)
	checkFor(t, 5*time.Second, func() error {
		m, err := onlineOf()
		if err != nil {
			return err
		}
		o, ok := m[b.ID]
		if !ok || o.Name != "pres-b" || len(o.Devices) != 2 || len(m) != 1 {
			return fmt.Errorf("online %+v, want b with 2 devices", m)
		}
		for _, d := range o.Devices {
			if (d.Device != b1.welcome.Device && d.Device != b2.welcome.Device) || d.Node != tn.ID() || d.ConnectedAt.IsZero() {
				return fmt.Errorf("device %+v", d)
			}
		}
		return nil
	})

	b1.Conn.Close()
	checkFor(t, 5*time.Second, func() error {
		m, err := onlineOf()
		if err != nil {
			return err
		}
		if o := m[b.ID]; len(o.Devices) != 1 || o.Devices[0].Device != b2.welcome.Device {
			return fmt.Errorf("online %+v, want b with its second device only", m)
		}
		return nil
	})
	b2.Conn.Close()
	checkFor(t, 5*time.Second, func() error {
		m, err := onlineOf()
		if err != nil {
			return err
		}
		if _, ok := m[b.ID]; ok {
			return fmt.Errorf("online %+v, want b gone", m)
		}
		return nil
	})

	wantAPIError(t, tn, "GET", path, out.Token, nil, http.StatusForbidden, wire.CodeNotMember)
}

// TestAPIMessages covers posting and paging, idempotent posts and the
// checks on them.
func TestAPIMessages(t *testing.T) { testAPIMessages(t, nil) }

// testAPIMessages is TestAPIMessages on nodes adjusted by mod.
func testAPIMessages(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	a := tn.register("msg-a")
	out := tn.register("msg-out")
	// A connected member receives what is posted over HTTP. It connects
	// first, so that its JoinedRoom comes at a known point.
	ac := tn.dialUser(a)
	var ch apiChat
	if st := tn.api("POST", "/api/chats", a.Token, map[string]any{"name": "log", "kind": "public"}, &ch); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	ac.expect(wire.TypeJoinedRoom)
	base := "/api/chats/" + ch.ID + "/messages"

	texts := []string{"m1", "m2", "m3", "m4", "m5"}
	seqs := make([]uint64, len(texts))
	for i, text := range texts {
		p := postMessage(t, tn, a, ch.ID, text, "")
		if p.Chat != ch.ID || p.ID == "" || p.Duplicate || (i > 0 && p.Seq <= seqs[i-1]) || p.Seq == 0 {
			t.Fatalf("post %s: %+v after seq %v", text, p, seqs)
		}
		seqs[i] = p.Seq
		var nm wire.NewMessage
		ac.expect(wire.TypeNewMessage).decode(t, &nm)
		if nm.Message != text || nm.Seq != p.Seq || nm.ID != p.ID || nm.Room != "log" || nm.Device != "" {
			t.Fatalf("NewMessage %+v, want %s seq %d", nm, text, p.Seq)
		}
	}

	for _, tc := range []struct {
		query string
		want  []int // indexes into texts
	}{
		{"", []int{0, 1, 2, 3, 4}},
		{fmt.Sprintf("?after=%d", seqs[1]), []int{2, 3, 4}},
		{fmt.Sprintf("?before=%d", seqs[3]), []int{0, 1, 2}},
		{"?limit=2", []int{3, 4}},
		{fmt.Sprintf("?after=%d&limit=2", seqs[0]), []int{1, 2}},
		{fmt.Sprintf("?before=%d&limit=1", seqs[2]), []int{1}},
		{fmt.Sprintf("?after=%d", seqs[4]), []int{}},
		{"?before=1", []int{}},
	} {
		t.Run("GET"+tc.query, func(t *testing.T) {
			var page struct {
				Chat     string
				Messages []apiMsg
			}
			if st := tn.api("GET", base+tc.query, a.Token, nil, &page); st != http.StatusOK || page.Chat != ch.ID || page.Messages == nil {
				t.Fatalf("status %d, %+v", st, page)
			}
			if len(page.Messages) != len(tc.want) {
				t.Fatalf("got %+v, want %v", page.Messages, tc.want)
			}
			for i, idx := range tc.want {
				m := page.Messages[i]
				if m.Message != texts[idx] || m.Seq != seqs[idx] || m.User != a.ID || m.Name != "msg-a" || m.ID == "" || m.PostedAt.IsZero() {
					t.Fatalf("message %d = %+v, want %s seq %d", i, m, texts[idx], seqs[idx])
				}
			}
		})
	}

	t.Run("same clientMsgId twice", func(t *testing.T) {
		first := postMessage(t, tn, a, ch.ID, "once", "once-1")
		again := postMessage(t, tn, a, ch.ID, "once", "once-1")
		if first.Duplicate || !again.Duplicate || again.Seq != first.Seq || again.ID != first.ID {
			t.Fatalf("first %+v, again %+v", first, again)
		}
		ac.expect(wire.TypeNewMessage)
		ac.expectNothing(300 * time.Millisecond)
		var page struct{ Messages []apiMsg }
		tn.api("GET", fmt.Sprintf("%s?after=%d", base, seqs[4]), a.Token, nil, &page)
		if len(page.Messages) != 1 || page.Messages[0].Seq != first.Seq {
			t.Fatalf("stored %+v, want one message", page.Messages)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, token string
			body                any
			status              int
			code                string
		}{
			{"GET", base + "?after=1&before=3", a.Token, nil, http.StatusBadRequest, wire.CodeInvalidField},
			{"GET", base + "?limit=0", a.Token, nil, http.StatusBadRequest, wire.CodeInvalidField},
			{"GET", base + "?limit=ten", a.Token, nil, http.StatusBadRequest, wire.CodeInvalidField},
			{"GET", base + "?limit=1001", a.Token, nil, http.StatusBadRequest, wire.CodeInvalidField},
			{"GET", base + "?after=-1", a.Token, nil, http.StatusBadRequest, wire.CodeInvalidField},
			{"GET", base, out.Token, nil, http.StatusForbidden, wire.CodeNotMember},
			{"GET", base, "", nil, http.StatusUnauthorized, httpapi.CodeUnauthorized},
			{"POST", base, out.Token, map[string]string{"text": "hi"}, http.StatusForbidden, wire.CodeNotMember},
			{"POST", base, a.Token, map[string]string{}, http.StatusBadRequest, wire.CodeMissingField},
			{"POST", base, a.Token, map[string]string{"text": strings.Repeat("x", 4001)}, http.StatusBadRequest, wire.CodeMessageTooLong},
			{"POST", base, a.Token, map[string]string{"text": "hi", "clientMsgId": "has space"}, http.StatusBadRequest, wire.CodeInvalidField},
			{"POST", base, a.Token, `{"text":5}`, http.StatusBadRequest, wire.CodeInvalidField},
			{"POST", base, a.Token, `{"text":`, http.StatusBadRequest, httpapi.CodeInvalidJSON},
			{"POST", "/api/chats/no-such-chat/messages", a.Token, map[string]string{"text": "hi"}, http.StatusNotFound, httpapi.CodeNotFound},
			{"PATCH", base, a.Token, nil, http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed},
		} {
			t.Run(tc.method+" "+strings.TrimPrefix(tc.path, base), func(t *testing.T) {
				wantAPIError(t, tn.scopedTo(t), tc.method, tc.path, tc.token, tc.body, tc.status, tc.code)
			})
		}
	})
}

// TestAPIServerAndHealth covers the server API's key checks, broadcast,
// and the health endpoints.
func TestAPIServerAndHealth(t *testing.T) {
	tn := startNode(t, nil)
	a := tn.register("srv-a")

	t.Run("healthz", func(t *testing.T) {
		if st, body := httpGet(t, tn.url("/healthz")); st != http.StatusOK || strings.TrimSpace(body) != "ok" {
			t.Fatalf("/healthz: %d %q", st, body)
		}
	})
	t.Run("readyz", func(t *testing.T) { tn.waitReady(t) })

	ping := `{"channel":"ping","message":{"type":"Ping","contents":7}}`
	t.Run("broadcast", func(t *testing.T) {
		c := tn.scopedTo(t).dialUser(a)
		var out map[string]any
		if st := tn.api("POST", "/api/broadcast", testAPIKey, ping, &out); st != http.StatusAccepted {
			t.Fatalf("status %d", st)
		}
		if f := c.expect(wire.TypePing); string(f.Raw) != ping {
			t.Fatalf("got %s, want %s", f.Raw, ping)
		}
		// Through the device, so that a device in its setup gets it
		// after its Unread (deliverBroadcast).
		tn.conns.Range(func(c *wsconn.Conn) bool {
			if _, ok := c.Data().(frameSender); !ok {
				t.Errorf("connection %d's data %T does not send through its device", c.ID(), c.Data())
			}
			return true
		})
		// docs/api.md: 202 {accepted: true}.
		if out["accepted"] != true {
			t.Errorf("broadcast answered %v, want {\"accepted\": true}", out)
		}
	})
	t.Run("broadcast errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, key string
			body      any
			status    int
			code      string
		}{
			{"no key", "", ping, http.StatusUnauthorized, httpapi.CodeUnauthorized},
			{"wrong key", "wrong", ping, http.StatusUnauthorized, httpapi.CodeUnauthorized},
			{"a user's token", a.Token, ping, http.StatusUnauthorized, httpapi.CodeUnauthorized},
			{"not JSON", testAPIKey, `{"channel":`, http.StatusBadRequest, httpapi.CodeInvalidJSON},
			{"not a frame", testAPIKey, `{"channel":"ping"}`, http.StatusBadRequest, wire.CodeBadJSON},
			{"array", testAPIKey, `[]`, http.StatusBadRequest, wire.CodeBadJSON},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIError(t, tn.scopedTo(t), "POST", "/api/broadcast", tc.key, tc.body, tc.status, tc.code)
			})
		}
		wantAPIError(t, tn, "GET", "/api/broadcast", testAPIKey, nil, http.StatusMethodNotAllowed, httpapi.CodeMethodNotAllowed)
	})

	t.Run("server API off", func(t *testing.T) {
		off := startNode(t, func(c *Config) { c.APIKey = "" })
		for _, key := range []string{"", testAPIKey} {
			wantAPIError(t, off, "POST", "/api/broadcast", key, ping, http.StatusForbidden, wire.CodeForbidden)
		}
	})
}

// --- helpers ---

// apiChat is a chat as the API returns it.
