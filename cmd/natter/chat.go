package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// runChat is "natter chat": stdin, stdout and stderr are the terminal's;
// SIGINT or SIGTERM ends it.
func runChat(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return chatCommand(ctx, args, os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
}

// chatCommand runs natter chat with the given terminal; it returns when
// the session is over, nil on success.
func chatCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	o, err := parseChatFlags(args, env, stdout)
	if err != nil {
		return err
	}
	ep, err := parseChatURL(o.url)
	if err != nil {
		return err
	}
	c := &chatSession{
		o: o, ep: ep, out: stdout, errOut: stderr,
		events:  make(chan chatEvent, 64),
		seen:    map[uint64]bool{},
		httpc:   &http.Client{Timeout: 20 * time.Second},
		backoff: backoffMin,
	}
	if o.interactive() {
		c.notices = stdout
		c.lines = readLines(ctx, stdin)
	} else {
		c.notices = stderr
	}
	return c.run(ctx)
}

// readLines sends stdin's lines on the returned channel and closes it at
// the end of input.
func readLines(ctx context.Context, r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case ch <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

const (
	quitWait         = 10 * time.Second // how long /quit waits for unconfirmed sends
	defaultSendLimit = 30 * time.Second
)

// chatSession is one natter chat run. Everything but the frame pumps and
// the stdin reader runs on run's goroutine.
type chatSession struct {
	o       *chatOptions
	ep      chatEndpoints
	out     io.Writer // messages (and everything when interactive)
	errOut  io.Writer // errors
	notices io.Writer // joins, presence, reconnects
	httpc   *http.Client
	lines   <-chan string // stdin; nil when not interactive

	token  string
	conn   *client.Client
	connN  int // the current connection's number
	cancel context.CancelFunc
	events chan chatEvent
	me     wire.Welcome

	chatID   string
	roomName string
	joined   bool // the room is joined on the current connection
	everJoin bool

	seen    map[uint64]bool // seqs of this chat printed (or skipped as history)
	lastSeq uint64
	// joinHistory: the first HistoryPage is pending; live messages wait
	// in held until it came.
	joinHistory bool
	held        []chatMsg

	pending  []pendingSend
	waiting  []string // refs of GetMembers and History awaiting answers, oldest first
	refN     int
	sendDone bool // --send was accepted
	listened int  // --listen messages printed

	quitting  bool
	quitTimer <-chan time.Time
	retry     <-chan time.Time
	backoff   time.Duration
	denied    int // dials refused with 401 in a row
}

type chatMsg struct {
	m   wire.NewMessage
	raw []byte
}

func (c *chatSession) run(ctx context.Context) error {
	defer c.disconnect()
	if !c.o.guest {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	if c.o.sendSet {
		c.sendText(c.o.send) // sent once the room is joined
	}
	if err := c.connect(ctx); err != nil {
		var se ws.StatusError
		if c.o.guest && errors.As(err, &se) && int(se) == http.StatusUnauthorized {
			return errors.New("chat: the node does not allow guests (it needs --allow-guests); log in with --user")
		}
		return fmt.Errorf("chat: %w", err)
	}

	var deadline <-chan time.Time
	limit := c.o.timeout
	if limit == 0 && c.o.sendSet && !c.o.listenSet {
		limit = defaultSendLimit
	}
	if !c.o.interactive() && limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}

	for {
		if done, err := c.finished(); done {
			return err
		}
		var lines <-chan string
		if c.lines != nil && c.everJoin && !c.joinHistory && !c.quitting {
			lines = c.lines
		}
		select {
		case <-ctx.Done():
			if c.o.interactive() {
				return nil
			}
			return ctx.Err()
		case <-deadline:
			return c.timeoutError(limit)
		case <-c.quitTimer:
			return fmt.Errorf("chat: %d message(s) not confirmed by the node", len(c.pending))
		case line, ok := <-lines:
			if !ok {
				c.quit()
				continue
			}
			c.handleLine(line)
		case <-c.retry:
			c.retry = nil
			if err := c.reconnect(ctx); err != nil {
				return err
			}
		case ev := <-c.events:
			if ev.conn != c.connN {
				continue // a frame of a connection already given up
			}
			if ev.err != nil {
				c.connLost(ev.err)
				continue
			}
			if err := c.handleFrame(ev.f); err != nil {
				return err
			}
		}
	}
}

// finished says whether the session is over, and how.
func (c *chatSession) finished() (bool, error) {
	if c.o.interactive() {
		return c.quitting && len(c.pending) == 0 && len(c.waiting) == 0, nil
	}
	if !c.everJoin || c.joinHistory {
		return false, nil
	}
	if c.o.sendSet && !c.sendDone {
		return false, nil
	}
	if c.o.listenSet && c.listened < c.o.listen {
		return false, nil
	}
	return true, nil
}

func (c *chatSession) timeoutError(limit time.Duration) error {
	switch {
	case !c.everJoin:
		return fmt.Errorf("chat: timed out after %v joining %s", limit, c.o.room)
	case c.o.sendSet && !c.sendDone:
		return fmt.Errorf("chat: timed out after %v: the message was not confirmed", limit)
	default:
		return fmt.Errorf("chat: timed out after %v: received %d of %d messages", limit, c.listened, c.o.listen)
	}
}

func (c *chatSession) quit() {
	if c.quitting {
		return
	}
	c.quitting = true
	c.quitTimer = time.After(quitWait)
}

// handleFrame handles one frame of the current connection; an error ends
// the session.
func (c *chatSession) handleFrame(f client.Frame) error {
	rawAll := c.o.json && c.o.interactive()
	if rawAll {
		fmt.Fprintf(c.out, "%s\n", f.Raw)
	}
	switch f.Type() {
	case wire.TypeMemberList:
		var l wire.MemberList
		if f.Decode(&l) != nil {
			return nil
		}
		if c.chatID == "" && !c.joined && l.Room == c.o.room {
			c.chatID = l.Chat
		}
		if l.Chat != c.chatID {
			return nil
		}
		c.answered("members-")
		if c.o.interactive() && !rawAll {
			c.notice("members of %s: %s", c.roomLabel(), memberNames(l))
		}
	case wire.TypeJoinedRoom, wire.TypeLeftRoom:
		var e wire.MemberEvent
		if f.Decode(&e) != nil {
			return nil
		}
		if f.Type() == wire.TypeJoinedRoom && !c.joined && e.User == c.me.User && (e.Room == c.o.room || (c.chatID != "" && e.Chat == c.chatID)) {
			c.joinedRoom(e)
			return nil
		}
		if e.Chat != c.chatID || rawAll {
			return nil
		}
		verb := "joined"
		if f.Type() == wire.TypeLeftRoom {
			verb = "left"
		}
		if e.User == c.me.User && f.Type() == wire.TypeLeftRoom {
			c.notice("you left %s (on another device)", c.roomLabel())
		} else if c.o.interactive() {
			c.notice("%s %s %s", e.Name, verb, c.roomLabel())
		}
	case wire.TypeNewMessage:
		var m wire.NewMessage
		if f.Decode(&m) != nil {
			return nil
		}
		if m.Chat != c.chatID {
			if c.o.interactive() && !rawAll {
				fmt.Fprintf(c.out, "%s %s %s: %s\n", clock(m.PostedAt), chatLabel(m), m.Name, m.Message)
			}
			return nil
		}
		if c.joinHistory {
			c.held = append(c.held, chatMsg{m, f.Raw})
			return nil
		}
		c.liveMessage(m, f.Raw, !rawAll)
	case wire.TypeMessageAccepted:
		var a wire.MessageAccepted
		if f.Decode(&a) != nil {
			return nil
		}
		for i, p := range c.pending {
			if p.id == a.ClientMsgID {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				if c.o.sendSet && !c.sendDone {
					c.sendDone = true
					if c.o.json {
						fmt.Fprintf(c.out, "%s\n", f.Raw)
					}
				}
				break
			}
		}
	case wire.TypeHistoryPage:
		var h wire.HistoryPage
		if f.Decode(&h) != nil || h.Chat != c.chatID {
			return nil
		}
		if c.joinHistory {
			c.gotJoinHistory(h, !rawAll)
			return nil
		}
		if c.answered("history-") && !rawAll {
			c.notice("last %d messages of %s:", len(h.Messages), c.roomLabel())
			for _, m := range h.Messages {
				c.printMessage(m, nil)
				c.markSeen(m.Seq)
			}
			c.notice("end of history")
		}
	case wire.TypeResumed:
		var r wire.Resumed
		if f.Decode(&r) == nil && r.Chat == c.chatID && r.More {
			c.sendFrame(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: c.chatID}, AfterSeq: r.LastSeq}, "")
		}
	case wire.TypeError:
		var e wire.Error
		if f.Decode(&e) != nil {
			return nil
		}
		return c.handleError(e)
	case wire.TypeOnline, wire.TypeOffline:
		var p wire.PresenceEvent
		if f.Decode(&p) == nil && c.o.interactive() && !rawAll && p.User != c.me.User {
			state := "online"
			if f.Type() == wire.TypeOffline {
				state = "offline"
			}
			c.notice("%s is %s", p.Name, state)
		}
	case wire.TypeNewMessageReceived:
		var m wire.NewMessageReceived
		if f.Decode(&m) == nil && c.o.interactive() && !rawAll {
			fmt.Fprintf(c.out, "%s (everyone) %s\n", clock(m.PostedAt), m.Content)
		}
	case wire.TypePing:
		if c.o.interactive() && !rawAll {
			c.notice("ping %s", f.Message.Contents)
		}
	}
	return nil
}

// joinedRoom: the room is joined on this connection.
func (c *chatSession) joinedRoom(e wire.MemberEvent) {
	c.joined = true
	c.chatID, c.roomName = e.Chat, e.Room
	if !c.everJoin || c.joinHistory {
		verb := "joined"
		if c.everJoin {
			verb = "rejoined"
		}
		c.everJoin = true
		c.notice("%s %s as %s", verb, c.roomLabel(), c.me.Name)
		// The newest message tells where the room stands (the resume point
		// after a reconnect) and is the start of --history.
		c.joinHistory = true
		c.sendFrame(wire.ChannelChatRoom, wire.TypeHistory, wire.History{ChatRef: wire.ChatRef{Chat: c.chatID}, Limit: max(c.o.history, 1)}, "join-history")
	} else {
		// A guest's new identity after a reconnect: replay what it missed.
		c.notice("rejoined %s as %s", c.roomLabel(), c.me.Name)
		c.sendFrame(wire.ChannelChatRoom, wire.TypeResume, wire.Resume{ChatRef: wire.ChatRef{Chat: c.chatID}, AfterSeq: c.lastSeq}, "")
	}
	c.flushPending()
}

// gotJoinHistory prints --history, then the live messages that came
// meanwhile.
func (c *chatSession) gotJoinHistory(h wire.HistoryPage, print bool) {
	c.joinHistory = false
	msgs := h.Messages
	if len(msgs) > c.o.history {
		msgs = msgs[len(msgs)-c.o.history:]
	}
	for _, m := range h.Messages {
		c.markSeen(m.Seq)
	}
	if print {
		for _, m := range msgs {
			c.printMessage(m, nil)
		}
	}
	held := c.held
	c.held = nil
	for _, hm := range held {
		c.liveMessage(hm.m, hm.raw, print)
	}
}

// liveMessage prints a message of the room unless it was seen.
func (c *chatSession) liveMessage(m wire.NewMessage, raw []byte, print bool) {
	if c.seen[m.Seq] {
		return
	}
	c.markSeen(m.Seq)
	if !c.o.interactive() && (!c.o.listenSet || c.listened >= c.o.listen) {
		return // --send alone prints no messages; --listen has its N
	}
	c.listened++
	if print {
		c.printMessage(m, raw)
	}
}

func (c *chatSession) markSeen(seq uint64) {
	c.seen[seq] = true
	if seq > c.lastSeq {
		c.lastSeq = seq
	}
	if len(c.seen) > 10000 {
		for s := range c.seen {
			if s+5000 < c.lastSeq {
				delete(c.seen, s)
			}
		}
	}
}

// handleError handles an Error frame.
func (c *chatSession) handleError(e wire.Error) error {
	switch {
	case e.Ref == "join":
		return fmt.Errorf("chat: join %s: %s: %s", c.o.room, e.Code, e.Message)
	case e.Ref == "join-history":
		c.problem("history: %s: %s", e.Code, e.Message)
		c.gotJoinHistory(wire.HistoryPage{}, true)
		return nil
	}
	for i, p := range c.pending {
		if p.id != e.Ref {
			continue
		}
		c.pending = append(c.pending[:i], c.pending[i+1:]...)
		if e.Code == wire.CodeUnavailable {
			// Storage hiccup: send again with the same id.
			c.pending = append(c.pending, pendingSend{id: p.id, text: p.text})
			c.flushPending()
			return nil
		}
		if !c.o.interactive() {
			return fmt.Errorf("chat: send: %s: %s", e.Code, e.Message)
		}
		c.problem("not sent: %s: %s", e.Code, e.Message)
		return nil
	}
	for i, ref := range c.waiting {
		if ref == e.Ref {
			c.waiting = append(c.waiting[:i], c.waiting[i+1:]...)
		}
	}
	if e.Code == wire.CodeRateLimited {
		// The dropped frame is unknown: send what is unconfirmed again
		// (the node stores each clientMsgId once).
		for i := range c.pending {
			c.pending[i].sent = false
		}
		c.flushPending()
	}
	c.problem("%s: %s", e.Code, e.Message)
	return nil
}
