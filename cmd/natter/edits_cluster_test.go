package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// changeModel is what a chat's messages should look like after a run of
// changes: per message seq its text, deletion and reactions (emoji ->
// user ids).
type changeModel map[uint64]*changedMsg

type changedMsg struct {
	text      string
	deleted   bool
	reactions map[string][]string
}

// String prints the model in seq order with sorted reactions.
func (m changeModel) String() string {
	var seqs []uint64
	for s := range m {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	var b strings.Builder
	for _, s := range seqs {
		c := m[s]
		fmt.Fprintf(&b, "%d %q deleted=%v", s, c.text, c.deleted)
		var emoji []string
		for e, users := range c.reactions {
			if len(users) > 0 {
				emoji = append(emoji, e)
			}
		}
		sort.Strings(emoji)
		for _, e := range emoji {
			users := slices.Sorted(slices.Values(c.reactions[e]))
			fmt.Fprintf(&b, " %s=%v", e, users)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// react sets user's mark of emoji on message seq.
func (m changeModel) react(seq uint64, user, emoji string, on bool) {
	c := m[seq]
	if c.reactions == nil {
		c.reactions = map[string][]string{}
	}
	users := slices.DeleteFunc(c.reactions[emoji], func(u string) bool { return u == user })
	if on {
		users = append(users, user)
	}
	c.reactions[emoji] = users
}

// apply folds a frame a device received into the model; it reports
// whether the frame was a change.
func (m changeModel) apply(f client.Frame) bool {
	switch f.Type() {
	case wire.TypeNewMessage:
		var nm wire.NewMessage
		if f.Decode(&nm) == nil {
			m[nm.Seq] = &changedMsg{text: nm.Message}
		}
	case wire.TypeMessageEdited:
		var e wire.MessageEdited
		if f.Decode(&e) == nil && m[e.Seq] != nil && !m[e.Seq].deleted {
			m[e.Seq].text = e.Message
		}
		return true
	case wire.TypeMessageDeleted:
		var e wire.MessageDeleted
		if f.Decode(&e) == nil {
			m[e.Seq] = &changedMsg{deleted: true}
		}
		return true
	case wire.TypeReaction:
		var e wire.Reaction
		if f.Decode(&e) == nil && m[e.Seq] != nil && !m[e.Seq].deleted {
			m.react(e.Seq, e.User, e.Emoji, e.On)
		}
		return true
	}
	return false
}

// tryAPI is api that returns transport errors instead of failing: the
// node asked may have just been killed.
func tryAPI(addr, method, path, token string, body any) (int, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestChangesSurviveNodeKill: three node processes; edits, reactions and
// deletions go through the HTTP API of every node in turn while the node
// that leads the message stream is killed (-9). A change whose node died
// is retried on the next node with the same clientMsgId, as a client
// would. A device on a surviving node ends with the expected state, got
// every change exactly once, and the history read from a survivor
// agrees; a device that replays the chat from its start sees each change
// once: nothing lost, nothing doubled.
func TestChangesSurviveNodeKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three node processes")
	}
	procs := startEmbeddedCluster(t, 3, nil)
	addrs := addrsOf(procs)
	victim := streamLeader(t, procs, procs[0])
	keep := addrs[(victim+1)%3]
	owner := register(t, keep, "chg-owner")
	bob := register(t, keep, "chg-bob")
	chat := createRoom(t, keep, owner, "chg-room")
	join(t, keep, bob, chat)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dev, err := client.Dial(ctx, "ws://"+keep+"/ws?token="+bob.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	var (
		mu      sync.Mutex
		seen    = changeModel{}
		changes int
	)
	go func() {
		for {
			f, err := dev.Next(ctx)
			if err != nil {
				return
			}
			mu.Lock()
			if seen.apply(f) {
				changes++
			}
			mu.Unlock()
		}
	}()

	want := changeModel{}
	var seqs []uint64
	for i := range 20 {
		var p struct{ Seq uint64 }
		text := fmt.Sprintf("message %d", i)
		if st := api(t, keep, "POST", "/api/chats/"+chat+"/messages", owner.Token, map[string]string{"text": text}, &p); st != http.StatusCreated {
			t.Fatalf("post: %d", st)
		}
		seqs = append(seqs, p.Seq)
		want[p.Seq] = &changedMsg{text: text}
	}

	// change runs one change on the nodes in turn from node k%3 until one
	// stores it; a deletion retried after it was stored answers 410.
	change := func(k int, method, path string, who account, body map[string]any) {
		t.Helper()
		body["clientMsgId"] = fmt.Sprintf("chg%d", k)
		deadline := time.Now().Add(90 * time.Second)
		for try := 0; ; try++ {
			addr := addrs[(k+try)%3]
			st, err := tryAPI(addr, method, path, who.Token, body)
			if err == nil && (st == http.StatusOK || (method == "DELETE" && st == http.StatusGone && try > 0)) {
				return
			}
			if err == nil && st != http.StatusServiceUnavailable && st != http.StatusInternalServerError {
				t.Fatalf("change %d on %s: status %d", k, addr, st)
			}
			if time.Now().After(deadline) {
				t.Fatalf("change %d: not stored within 90s: %d %v", k, st, err)
			}
			time.Sleep(100 * time.Millisecond) // pace retries against a cluster electing a leader
		}
	}
	emoji := []string{"👍", "🎉", "❤️", "👀", "✅"}
	n := 0
	for k := range 90 {
		if k == 30 {
			procs[victim].kill()
			t.Logf("killed %s, the stream leader", procs[victim].name)
		}
		msg := fmt.Sprintf("/api/chats/%s/messages/", chat)
		switch {
		case k%30 == 10: // delete one of the last three, which nothing else touches
			seq := seqs[17+k/30]
			change(k, "DELETE", msg+fmt.Sprint(seq), owner, map[string]any{})
			want[seq] = &changedMsg{deleted: true}
		case k%3 == 0:
			seq := seqs[k%17]
			text := fmt.Sprintf("message %d, edit %d", k%17, k)
			change(k, "PATCH", msg+fmt.Sprint(seq), owner, map[string]any{"text": text})
			want[seq].text = text
		default:
			seq, e := seqs[k%17], emoji[k%len(emoji)]
			who := owner
			if k%3 == 2 {
				who = bob
			}
			on := k%7 != 0
			change(k, "POST", msg+fmt.Sprint(seq)+"/reactions", who, map[string]any{"emoji": e, "on": on})
			want.react(seq, who.ID, e, on)
		}
		n++
	}

	checkFor(t, 60*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if seen.String() != want.String() {
			return fmt.Errorf("the device on %s has\n%s\nwant\n%s", keep, seen, want)
		}
		return nil
	})
	mu.Lock()
	if changes != n {
		t.Errorf("the device got %d changes, want %d", changes, n)
	}
	mu.Unlock()

	// History from a survivor folds the same state.
	var hist struct {
		Messages []struct {
			Seq       uint64
			Message   string
			Deleted   bool
			Reactions map[string][]string
		}
	}
	if st := api(t, keep, "GET", "/api/chats/"+chat+"/messages?limit=100", bob.Token, nil, &hist); st != http.StatusOK {
		t.Fatalf("history: %d", st)
	}
	got := changeModel{}
	for _, m := range hist.Messages {
		got[m.Seq] = &changedMsg{text: m.Message, deleted: m.Deleted, reactions: m.Reactions}
	}
	if got.String() != want.String() {
		t.Fatalf("history:\n%s\nwant\n%s", got, want)
	}

	// A replay from the chat's start holds each change once.
	replay, err := client.Dial(ctx, "ws://"+keep+"/ws?token="+owner.Token, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	if err := replay.Send(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: chat}, AfterSeq: 0}); err != nil {
		t.Fatal(err)
	}
	replayed, fold := 0, changeModel{}
	for {
		f, err := replay.Next(ctx)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if f.Type() == wire.TypeResumed {
			break
		}
		if fold.apply(f) {
			replayed++
		}
	}
	if replayed != n || fold.String() != want.String() {
		t.Fatalf("replay: %d changes, want %d; state\n%s\nwant\n%s", replayed, n, fold, want)
	}
}
