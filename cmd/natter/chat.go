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
	"sync"
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
	c := newChatSession(o, ep, stdout, stderr)
	if o.interactive() {
		c.lines = readLines(ctx, stdin)
	}
	return c.run(ctx)
}

// newChatSession is a session not started yet, reading no input.
// Interactive mode prints notices among the messages; a script's stdout
// has the messages alone.
func newChatSession(o *chatOptions, ep chatEndpoints, stdout, stderr io.Writer) *chatSession {
	c := &chatSession{
		o: o, ep: ep, out: stdout, errOut: stderr, notices: stderr,
		seen:  map[uint64]bool{},
		mine:  map[string]string{},
		httpc: &http.Client{Timeout: 20 * time.Second},
	}
	if o.interactive() {
		c.notices = stdout
	}
	return c
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

// How long a session waits before it gives up.
const (
	quitWait         = 10 * time.Second // how long /quit waits for unconfirmed sends
	defaultSendLimit = 30 * time.Second // --send without --timeout
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

	sess   *client.Session
	events <-chan client.Event // the session's; nil before it starts
	connN  int                 // connections so far
	online bool                // a connection is up
	me     wire.Welcome

	// The token, read and renewed on the session's goroutine (tokenFor).
	tokenMu sync.Mutex
	token   string // guarded by tokenMu
	denied  int    // guarded by tokenMu: tokens refused in a row

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

	unsent   []unsentMsg       // typed before the room was joined
	mine     map[string]string // clientMsgId -> text of the messages sent and not yet confirmed
	waiting  []string          // refs of GetMembers and History awaiting answers, oldest first
	refN     int
	sendDone bool // --send was accepted
	listened int  // --listen messages printed

	state chatState // typing and read state (chat_state.go)

	quitting  bool
	quitTimer <-chan time.Time
}

// run is the session: log in, connect, then handle typed lines, frames
// and reconnects on this one goroutine until finished says it is over.
func (c *chatSession) run(ctx context.Context) error {
	defer func() {
		if c.sess != nil {
			_ = c.sess.Close()
		}
	}()
	if err := c.start(ctx); err != nil {
		return err
	}
	var deadline <-chan time.Time
	limit := c.timeLimit()
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}
	for {
		if done, err := c.finished(); done {
			return err
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
			return fmt.Errorf("chat: %d message(s) not confirmed by the node", c.pendingSends())
		case line, ok := <-c.stdin():
			if !ok {
				c.quit()
				continue
			}
			c.handleLine(line)
		case ev, ok := <-c.events:
			if !ok {
				return nil
			}
			if err := c.handleEvent(ev); err != nil {
				return err
			}
		}
	}
}

// start logs in, queues --send and makes the first connection. Unlike
// a reconnect, a failure here ends the session: the node or the flags
// are wrong, and retrying would hide it.
func (c *chatSession) start(ctx context.Context) error {
	if !c.o.guest {
		tok, registered, err := c.login(ctx)
		if err != nil {
			return err
		}
		if registered {
			fmt.Fprintf(c.notices, "%s * registered user %s\n", clock(time.Now()), c.o.user)
		}
		c.token = tok // before the session exists: no lock needed
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
	return nil
}

// timeLimit is how long a script's session may take, 0 for no limit:
// --timeout, or defaultSendLimit for --send alone so that a script does
// not hang on a node that never confirms. Interactive sessions have none.
func (c *chatSession) timeLimit() time.Duration {
	if c.o.interactive() {
		return 0
	}
	if c.o.timeout == 0 && c.o.sendSet && !c.o.listenSet {
		return defaultSendLimit
	}
	return c.o.timeout
}

// stdin is the typed lines while they are wanted, else nil (never
// ready): only after the join and its history, so that what is typed
// goes to the room and shows after what came before, and not once
// quitting.
func (c *chatSession) stdin() <-chan string {
	if c.lines != nil && c.everJoin && !c.joinHistory && !c.quitting {
		return c.lines
	}
	return nil
}

// finished says whether the session is over, and how.
func (c *chatSession) finished() (bool, error) {
	if c.o.interactive() {
		return c.quitting && c.pendingSends() == 0 && len(c.waiting) == 0, nil
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

// timeoutError says what a script was still waiting for when its time
// limit ran out.
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

// quit ends the session once every sent message is confirmed and every
// request answered, or after quitWait: a typed message is not lost to an
// end of input right after it.
func (c *chatSession) quit() {
	if c.quitting {
		return
	}
	c.quitting = true
	c.quitTimer = time.After(quitWait)
}
