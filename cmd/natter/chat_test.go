package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node"
	"github.com/natterchat/natter/node/wire"
)

// chatNode starts a node in-process and returns its ws:// URL.
func chatNode(t *testing.T) string {
	t.Helper()
	n, err := node.New(node.Config{
		DataDir:     t.TempDir(),
		Secret:      "0123456789abcdef0123",
		AllowGuests: true,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = n.Serve(l); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
		<-served
	})
	return "ws://" + l.Addr().String()
}

// lockedBuffer is an io.Writer that a test reads while chatCommand writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitFor polls until buf contains s.
func waitFor(t *testing.T, buf *lockedBuffer, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(buf.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v in:\n%s", s, timeout, buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chatRun is one chatCommand run in the background.
type chatRun struct {
	out, errOut lockedBuffer
	done        chan error
	cancel      context.CancelFunc
}

func startChat(t *testing.T, stdin io.Reader, args ...string) *chatRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	r := &chatRun{done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- chatCommand(ctx, args, stdin, &r.out, &r.errOut, envMap()) }()
	t.Cleanup(cancel)
	return r
}

func (r *chatRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("chat did not end; stdout:\n%s\nstderr:\n%s", r.out.String(), r.errOut.String())
		return nil
	}
}

// runChatCmd runs chatCommand to its end.
func runChatCmd(t *testing.T, stdin io.Reader, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	r := startChat(t, stdin, args...)
	err = r.wait(t)
	return r.out.String(), r.errOut.String(), err
}

func TestChatSendAndListen(t *testing.T) {
	url := chatNode(t)
	room := "#scripts"

	// bob listens for one message; once he has joined, alice registers
	// and sends.
	bob := startChat(t, strings.NewReader(""), "--url", url, "--user", "bob", "--password", "bob-password", "--register",
		"--room", room, "--listen", "1", "--timeout", "30s")
	waitFor(t, &bob.errOut, "joined "+room+" as bob", 30*time.Second)

	out, errOut, err := runChatCmd(t, strings.NewReader(""), "--url", url, "--user", "alice", "--password", "alice-password",
		"--register", "--room", room, "--send", "hello from a script")
	if err != nil {
		t.Fatalf("--send: %v\nstderr: %s", err, errOut)
	}
	if out != "" {
		t.Errorf("--send printed %q on stdout; want nothing", out)
	}
	if err := bob.wait(t); err != nil {
		t.Fatalf("--listen 1: %v\nstderr: %s", err, bob.errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(bob.out.String()), "\n")
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "] alice: hello from a script") || !strings.HasPrefix(lines[0], "[") {
		t.Fatalf("--listen 1 printed %q; want one line [hh:mm:ss] alice: hello from a script", bob.out.String())
	}

	// alice again, now logging in, with --json: the MessageAccepted frame.
	out, errOut, err = runChatCmd(t, nil, "--url", strings.Replace(url, "ws://", "http://", 1), "--user", "alice",
		"--password", "alice-password", "--room", room, "--send", "second", "--json")
	if err != nil {
		t.Fatalf("--send --json: %v\nstderr: %s", err, errOut)
	}
	var accepted struct {
		Message struct {
			Type     string               `json:"type"`
			Contents wire.MessageAccepted `json:"contents"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &accepted); err != nil || accepted.Message.Type != wire.TypeMessageAccepted || accepted.Message.Contents.Seq != 2 {
		t.Fatalf("--send --json printed %q (%v); want the MessageAccepted frame with seq 2", out, err)
	}

	// History: the last two messages, then exit (--listen 0).
	out, _, err = runChatCmd(t, nil, "--url", url+"/ws", "--user", "bob", "--password", "bob-password", "--room", room,
		"--history", "5", "--listen", "0")
	if err != nil {
		t.Fatalf("--history: %v", err)
	}
	if !strings.Contains(out, "alice: hello from a script\n") || !strings.Contains(out, "alice: second\n") || strings.Count(out, "\n") != 2 {
		t.Fatalf("--history 5 printed %q; want the two messages", out)
	}

	// --json --history: one NewMessage frame per line.
	out, _, err = runChatCmd(t, nil, "--url", url, "--user", "bob", "--password", "bob-password", "--room", room,
		"--history", "1", "--listen", "0", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Channel string `json:"channel"`
		Message struct {
			Type     string          `json:"type"`
			Contents wire.NewMessage `json:"contents"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(out), &msg); err != nil || msg.Message.Type != wire.TypeNewMessage || msg.Message.Contents.Message != "second" {
		t.Fatalf("--history 1 --json printed %q (%v)", out, err)
	}
}

func TestChatErrors(t *testing.T) {
	url := chatNode(t)
	base := []string{"--url", url, "--room", "#errors"}
	with := func(args ...string) []string { return append(append([]string{}, base...), args...) }

	if _, _, err := runChatCmd(t, nil, with("--user", "carol", "--password", "carol-password", "--register", "--send", "hi")...); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"wrong password", with("--user", "carol", "--password", "not-carols", "--send", "x"), "wrong name or password"},
		{"wrong password, register", with("--user", "carol", "--password", "not-carols", "--register", "--send", "x"), "exists and the password is wrong"},
		{"unknown user", with("--user", "nobody", "--password", "whatever-pw", "--send", "x"), "--register creates"},
		{"too long", with("--user", "carol", "--password", "carol-password", "--send", strings.Repeat("x", 4001)), "message_too_long"},
		{"no room", []string{"--url", url, "--guest", "--send", "x"}, "--room is required"},
		{"no user", with("--send", "x"), "--user NAME is required"},
		{"no password", with("--user", "carol", "--send", "x"), "--password"},
		{"guest and user", with("--guest", "--user", "carol"), "--guest"},
		{"bad url", []string{"--url", "ftp://x", "--guest", "--room", "#r"}, "scheme"},
		{"listen timeout", with("--guest", "--listen", "1", "--timeout", "300ms"), "received 0 of 1 messages"},
		{"bad room", []string{"--url", url, "--guest", "--room", strings.Repeat("r", 300), "--send", "x"}, "join"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runChatCmd(t, nil, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v; want one containing %q", err, c.want)
			}
		})
	}

	var help bytes.Buffer
	if err := chatCommand(context.Background(), []string{"--help"}, nil, &help, io.Discard, envMap()); !errors.Is(err, flag.ErrHelp) || !strings.Contains(help.String(), "--listen N") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}

	// The password from NATTER_PASSWORD.
	r := &chatRun{done: make(chan error, 1)}
	err := chatCommand(context.Background(), with("--user", "carol", "--send", "from env"), nil, &r.out, &r.errOut, envMap("NATTER_PASSWORD", "carol-password"))
	if err != nil {
		t.Fatalf("NATTER_PASSWORD: %v", err)
	}
}

func TestChatInteractive(t *testing.T) {
	url := chatNode(t)
	room := "#lounge"

	// dave (a guest) listens for the two messages erin types.
	dave := startChat(t, nil, "--url", url, "--guest", "--room", room, "--listen", "2", "--timeout", "30s")
	waitFor(t, &dave.errOut, "joined "+room, 30*time.Second)

	input := strings.Join([]string{
		"hello from erin",
		"",
		"/members",
		"//slash at the start",
		"/history 10",
		"/nonsense",
		"/quit",
		"never sent",
	}, "\n") + "\n"
	out, errOut, err := runChatCmd(t, strings.NewReader(input), "--url", url, "--user", "erin", "--password", "erin-password", "--register", "--room", room)
	if err != nil {
		t.Fatalf("interactive: %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	for _, want := range []string{
		"* joined " + room + " as erin",
		"* members of " + room + ": ",
		"erin (online)",
		"! unknown command /nonsense",
		"last ",
		"end of history",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("interactive output lacks %q:\n%s", want, out)
		}
	}
	if err := dave.wait(t); err != nil {
		t.Fatalf("dave: %v\n%s", err, dave.errOut.String())
	}
	got := dave.out.String()
	if !strings.Contains(got, "erin: hello from erin\n") || !strings.Contains(got, "erin: /slash at the start\n") || strings.Contains(got, "never sent") {
		t.Fatalf("dave got:\n%s", got)
	}
}

// TestChatInteractiveEOF: the end of input quits after the typed
// messages are confirmed.
func TestChatInteractiveEOF(t *testing.T) {
	url := chatNode(t)
	out, errOut, err := runChatCmd(t, strings.NewReader("one\ntwo\nthree"), "--url", url, "--guest", "--room", "#eof")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	hist, _, err := runChatCmd(t, nil, "--url", url, "--guest", "--room", "#eof", "--history", "10", "--listen", "0")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, l := range strings.Split(strings.TrimSpace(hist), "\n") {
		_, text, _ := strings.Cut(l, ": ")
		texts = append(texts, text)
	}
	if strings.Join(texts, ",") != "one,two,three" {
		t.Fatalf("history after EOF:\n%s", hist)
	}
}

// TestChatReconnect: a listener whose connection drops reconnects,
// resumes, and gets the messages sent while it was away, in order and
// once each.
func TestChatReconnect(t *testing.T) {
	url := chatNode(t)
	room := "#flaky"
	target := strings.TrimPrefix(url, "ws://")
	p := newDropProxy(t, target)

	frank := startChat(t, nil, "--url", "ws://"+p.addr(), "--user", "frank", "--password", "frank-password", "--register",
		"--room", room, "--listen", "4", "--timeout", "40s")
	waitFor(t, &frank.errOut, "joined "+room, 30*time.Second)

	send := func(text string) {
		t.Helper()
		if _, errOut, err := runChatCmd(t, nil, "--url", url, "--guest", "--room", room, "--send", text); err != nil {
			t.Fatalf("send %q: %v\n%s", text, err, errOut)
		}
	}
	send("before the drop")
	waitFor(t, &frank.out, "before the drop", 10*time.Second)
	p.dropAll()
	waitFor(t, &frank.errOut, "disconnected", 10*time.Second)
	send("while away 1")
	send("while away 2")
	waitFor(t, &frank.errOut, "reconnected", 20*time.Second)
	send("after the return")
	if err := frank.wait(t); err != nil {
		t.Fatalf("frank: %v\nstdout:\n%s\nstderr:\n%s", err, frank.out.String(), frank.errOut.String())
	}
	var texts []string
	for _, l := range strings.Split(strings.TrimSpace(frank.out.String()), "\n") {
		_, text, _ := strings.Cut(l, ": ")
		texts = append(texts, text)
	}
	if got := strings.Join(texts, "|"); got != "before the drop|while away 1|while away 2|after the return" {
		t.Fatalf("frank printed %q\nstderr:\n%s", got, frank.errOut.String())
	}
}

// dropProxy forwards TCP connections to target; dropAll cuts them.
type dropProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{l: l, target: target}
	go p.serve()
	t.Cleanup(func() { l.Close(); p.dropAll() })
	return p
}

func (p *dropProxy) addr() string { return p.l.Addr().String() }

func (p *dropProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

func (p *dropProxy) dropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestChatURL(t *testing.T) {
	for _, c := range []struct{ in, api, ws string }{
		{"ws://h:8080", "http://h:8080", "ws://h:8080/ws"},
		{"ws://h:8080/ws", "http://h:8080", "ws://h:8080/ws"},
		{"http://h:8080/", "http://h:8080", "ws://h:8080/ws"},
		{"https://chat.example.com/natter", "https://chat.example.com/natter", "wss://chat.example.com/natter/ws"},
		{"wss://chat.example.com/natter/websockets", "https://chat.example.com/natter", "wss://chat.example.com/natter/ws"},
	} {
		ep, err := parseChatURL(c.in)
		if err != nil || ep.api != c.api || ep.ws != c.ws {
			t.Errorf("parseChatURL(%q) = %+v, %v; want %s and %s", c.in, ep, err, c.api, c.ws)
		}
	}
	for _, bad := range []string{"localhost:8080", "ftp://h", "ws://"} {
		if _, err := parseChatURL(bad); err == nil {
			t.Errorf("parseChatURL(%q): no error", bad)
		}
	}
}
