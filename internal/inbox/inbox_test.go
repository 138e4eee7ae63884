package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/internal/inbox"
	"github.com/natterchat/natter/store/storetest"
)

// open is inbox.Open that fails t on an error and returns once the
// server knows the inbox: the tests publish answers from another
// connection, which could otherwise reach the server before the
// subscription does. (A request goes out on the inbox's own connection,
// after its subscription.)
func open(t *testing.T, nc *nats.Conn, n int) *inbox.Inbox {
	t.Helper()
	in, err := inbox.Open(nc, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return in
}

// publish sends count messages "<prefix><i>" to subject from nc and
// waits until the server has them.
func publish(t *testing.T, nc *nats.Conn, subject, prefix string, count int) {
	t.Helper()
	for i := range count {
		if err := nc.Publish(subject, fmt.Appendf(nil, "%s%d", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// next reads one answer, failing t if none comes in time.
func next(t *testing.T, in *inbox.Inbox) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := in.Next(ctx)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return string(m.Data)
}

func TestAnswersArriveInOrder(t *testing.T) {
	s := storetest.RunServer(t)
	nc, pub := storetest.Connect(t, s), storetest.Connect(t, s)
	in := open(t, nc, 8)
	defer in.Close()
	publish(t, pub, in.Subject(), "a", 8)
	for i := range 8 {
		if got, want := next(t, in), fmt.Sprintf("a%d", i); got != want {
			t.Fatalf("answer %d is %q, want %q", i, got, want)
		}
	}
}

func TestNextEndsWithItsContext(t *testing.T) {
	s := storetest.RunServer(t)
	in := open(t, storetest.Connect(t, s), 1)
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if m, err := in.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on an empty inbox with its context done = %v, %v; want context.Canceled", m, err)
	}
}

// A full inbox drops what does not fit; what it holds stays in order.
func TestFullInboxDropsAnswers(t *testing.T) {
	s := storetest.RunServer(t)
	slow := make(chan struct{}, 1)
	nc, err := nats.Connect(s.ClientURL(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errors.Is(err, nats.ErrSlowConsumer) {
			select {
			case slow <- struct{}{}:
			default:
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	pub := storetest.Connect(t, s)
	in := open(t, nc, 4)
	defer in.Close()
	publish(t, pub, in.Subject(), "a", 10)
	// The server sent the answers before the flush's PONG, and nc reads
	// them in order: after Flush every answer was delivered or dropped.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if got, want := next(t, in), fmt.Sprintf("a%d", i); got != want {
			t.Fatalf("answer %d is %q, want %q", i, got, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if m, err := in.Next(ctx); err == nil {
		t.Fatalf("a full inbox of 4 kept a fifth answer %q", m.Data)
	}
	select {
	case <-slow:
	case <-time.After(10 * time.Second):
		t.Fatal("nats.go reported no slow consumer for the dropped answers")
	}
}

// An inbox opened after others were closed with answers unread (its
// channel may be theirs) holds only its own answers.
func TestReusedInboxStartsEmpty(t *testing.T) {
	s := storetest.RunServer(t)
	nc, pub := storetest.Connect(t, s), storetest.Connect(t, s)
	for round := range 20 {
		old := open(t, nc, 16)
		publish(t, pub, old.Subject(), "stale", 10)
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		old.Close()
		in := open(t, nc, 16)
		publish(t, pub, in.Subject(), "fresh", 1)
		if got := next(t, in); got != "fresh0" {
			t.Fatalf("round %d: a new inbox's first answer is %q", round, got)
		}
		in.Close()
	}
}

// gatedConn is a real client connection whose reads the test can hold:
// what the server sends waits, read but not handed to nats.go, until the
// gate opens. It lets a test put answers in flight at a chosen moment.
type gatedConn struct {
	net.Conn
	mu   sync.Mutex
	open chan struct{} // closed while reads pass
}

func (c *gatedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	gate := c.open
	c.mu.Unlock()
	<-gate
	return n, err
}

func (c *gatedConn) hold() {
	c.mu.Lock()
	c.open = make(chan struct{})
	c.mu.Unlock()
}

func (c *gatedConn) release() {
	c.mu.Lock()
	close(c.open)
	c.mu.Unlock()
}

type gatedDialer struct{ conn chan *gatedConn }

func (d gatedDialer) Dial(network, address string) (net.Conn, error) {
	c, err := net.Dial(network, address)
	if err != nil {
		return nil, err
	}
	g := &gatedConn{Conn: c, open: make(chan struct{})}
	close(g.open)
	d.conn <- g
	return g, nil
}

// connectGated connects to s over a gatedConn, never reconnecting, and
// returns a channel closed once the connection's close has finished.
func connectGated(t *testing.T, s *server.Server) (*nats.Conn, *gatedConn, <-chan struct{}) {
	t.Helper()
	d := gatedDialer{conn: make(chan *gatedConn, 1)}
	closed := make(chan struct{})
	nc, err := nats.Connect(s.ClientURL(), nats.SetCustomDialer(d), nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		t.Fatal(err)
	}
	g := <-d.conn
	t.Cleanup(func() {
		select {
		case <-g.open:
		default:
			g.release()
		}
		nc.Close()
	})
	return nc, g, closed
}

// Answers in flight when an inbox closes never reach the inbox opened
// next, which may have its channel: Close recycles a channel only once
// nats.go cannot send to it.
func TestAnswersInFlightAtCloseAreDropped(t *testing.T) {
	s := storetest.RunServer(t)
	pub, other := storetest.Connect(t, s), storetest.Connect(t, s)
	nc, gate, _ := connectGated(t, s)
	old := open(t, nc, 16)
	gate.hold()
	publish(t, pub, old.Subject(), "stale", 10) // waiting in nc's socket
	old.Close()
	in := open(t, other, 16)
	defer in.Close()
	gate.release()
	if err := nc.Flush(); err != nil { // nc has read all the stale answers
		t.Fatal(err)
	}
	publish(t, pub, in.Subject(), "fresh", 1)
	if got := next(t, in); got != "fresh0" {
		t.Fatalf("the next inbox's first answer is %q", got)
	}
}

// While its connection drains nats.go still delivers to a closed
// inbox's channel, so Close must not recycle it then.
func TestCloseWhileDrainingKeepsTheChannel(t *testing.T) {
	s := storetest.RunServer(t)
	pub, other := storetest.Connect(t, s), storetest.Connect(t, s)
	nc, gate, closed := connectGated(t, s)
	old := open(t, nc, 16)
	gate.hold()
	publish(t, pub, old.Subject(), "stale", 10)
	// The drain cannot finish while reads are held: its flush waits.
	if err := nc.Drain(); err != nil {
		t.Fatal(err)
	}
	old.Close()
	in := open(t, other, 16)
	defer in.Close()
	gate.release()
	select {
	case <-closed: // drained: every stale answer was delivered or dropped
	case <-time.After(30 * time.Second):
		t.Fatal("the connection did not finish draining")
	}
	publish(t, pub, in.Subject(), "fresh", 1)
	if got := next(t, in); got != "fresh0" {
		t.Fatalf("the next inbox's first answer is %q", got)
	}
}
