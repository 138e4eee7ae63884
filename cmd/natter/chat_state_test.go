package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// apiJSON makes a JSON request of the node's API and decodes the answer.
func apiJSON(t *testing.T, method, url, token string, in, out any) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatal(err)
		}
	}
}

// nextOf reads c's frames until one of typ.
func nextOf(t *testing.T, c *client.Client, typ string) client.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		f, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type() == typ {
			return f
		}
	}
}

// TestChatTypingAndUnread: an interactive session says which chats have
// unread messages when it connects, marks the room read as it shows it
// (the listing then has nothing unread), and tells who is typing.
func TestChatTypingAndUnread(t *testing.T) {
	url := chatNode(t)
	httpURL := "http" + strings.TrimPrefix(url, "ws")
	room := "#state"
	if _, errOut, err := runChatCmd(t, nil, "--url", url, "--user", "alice", "--password", "alice-password", "--register", "--room", room, "--send", "first"); err != nil {
		t.Fatalf("alice's first send: %v\n%s", err, errOut)
	}
	var bob struct{ Token string }
	apiJSON(t, "POST", httpURL+"/api/users", "", map[string]string{"name": "bob", "password": "bob-password"}, &bob)
	bc, err := client.Dial(context.Background(), url+"/ws?token="+bob.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bc.Close() })
	if err := bc.Send(wire.ChannelChatRoom, wire.TypeJoinRoom, wire.ChatRef{Room: room}); err != nil {
		t.Fatal(err)
	}
	nextOf(t, bc, wire.TypeJoinedRoom)
	for i := range 2 {
		if err := bc.Send(wire.ChannelChatRoom, wire.TypeSendMessage, wire.SendMessage{ChatRef: wire.ChatRef{Room: room}, Message: fmt.Sprint("unread ", i)}); err != nil {
			t.Fatal(err)
		}
		nextOf(t, bc, wire.TypeMessageAccepted)
	}

	stdin, typed := io.Pipe()
	alice := startChat(t, stdin, "--url", url, "--user", "alice", "--password", "alice-password", "--room", room, "--history", "5")
	waitFor(t, &alice.out, "unread: "+room+" 2", 30*time.Second)
	waitFor(t, &alice.out, "bob: unread 1", 30*time.Second)

	// Shown is read: the listing agrees, for every device of alice.
	var login struct{ Token string }
	apiJSON(t, "POST", httpURL+"/api/sessions", "", map[string]string{"name": "alice", "password": "alice-password"}, &login)
	testwait.For(t, 20*time.Second, 50*time.Millisecond, func() error {
		var list struct {
			Chats []struct {
				Name    string `json:"name"`
				LastSeq uint64 `json:"lastSeq"`
				ReadSeq uint64 `json:"readSeq"`
				Unread  uint64 `json:"unread"`
			} `json:"chats"`
		}
		apiJSON(t, "GET", httpURL+"/api/chats", login.Token, nil, &list)
		if len(list.Chats) != 1 || list.Chats[0].Unread != 0 || list.Chats[0].ReadSeq != list.Chats[0].LastSeq {
			return fmt.Errorf("alice's chats: %+v", list.Chats)
		}
		return nil
	})

	if err := bc.Send(wire.ChannelChatRoom, wire.TypeTyping, wire.ChatRef{Room: room}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &alice.out, "bob is typing…", 30*time.Second)
	typed.Close() // end of input: quit
	if err := alice.wait(t); err != nil {
		t.Fatalf("alice: %v\n%s", err, alice.out.String())
	}
}
