package wsconn

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Handler receives a connection's messages and its end. Its methods run on
// the worker pool: they must not block for long (a blocked worker delays
// other connections) and must not panic. They may call Send and Close.
type Handler interface {
	// OnMessage gets each complete, UTF-8-valid text message of c on a worker goroutine.
	// Calls for one connection never overlap and arrive in order. msg is valid only until OnMessage returns.
	OnMessage(c *Conn, msg []byte)
	// OnClose is called exactly once per attached connection after it has ended (socket closed).
	OnClose(c *Conn, reason CloseReason)
}

const numShards = 32

// shard is one part of the registry of live connections.
type shard struct {
	mu sync.RWMutex
	m  map[uint64]*Conn // guarded by mu
}

// Server drives attached connections: one poller goroutine (Linux), a pool
// of Config.Workers workers and one timer wheel goroutine, whatever the
// number of connections.
type Server struct {
	// Immutable after New.
	cfg   Config
	h     Handler
	log   *slog.Logger
	runq  *runQueue
	wheel *wheel
	poll  *poller // nil where there is no epoll
	stop  chan struct{}

	wg    sync.WaitGroup // goroutines the server started
	conns sync.WaitGroup // attached connections not yet finalized

	nextID atomic.Uint64
	live   atomic.Int64

	// Bytes clients sent before their 101 (AttachConnBuffered), by
	// connection id, until the connection's first read takes them.
	prefaceMu sync.Mutex
	preface   map[uint64][]byte // guarded by prefaceMu
	prefaces  atomic.Int32      // entries of preface: 0 keeps reads off the lock

	deferMu    sync.Mutex
	deferred   []*Conn // guarded by deferMu: connections with deferred frames
	deferArmed bool    // guarded by deferMu: a flush of the list is due
	// deferDelay is the deferred frames' delay in effect (nanoseconds):
	// Config.DeferDelay, or SetDeferDelay's.
	deferDelay atomic.Int64

	attachMu  sync.RWMutex
	closed    bool // guarded by attachMu
	closeOnce sync.Once

	shards [numShards]shard
}

// New starts a Server: its poller, worker pool and timer wheel.
func New(cfg Config, h Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("wsconn: nil handler")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:   cfg,
		h:     h,
		log:   cfg.Logger,
		runq:  newRunQueue(),
		wheel: newWheel(cfg.tick, max(cfg.IdleTimeout, cfg.PingInterval, cfg.CloseTimeout)),
		stop:  make(chan struct{}),
	}
	s.deferDelay.Store(int64(cfg.DeferDelay))
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]*Conn)
	}
	s.poll, err = newPoller(s)
	if err != nil {
		return nil, err
	}
	if s.poll != nil {
		s.wg.Add(1)
		go s.poll.loop()
	}
	for range cfg.Workers {
		w := &worker{rbuf: make([]byte, cfg.ReadBufferSize), bufs: make([][]byte, 0, maxIov)}
		w.sys.init()
		s.wg.Add(1)
		go s.workerLoop(w)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.wheel.run(s.stop)
	}()
	return s, nil
}

// Attach takes over nc, which has completed the server handshake, and
// starts serving it; data is returned by Conn.Data. On success the Server
// owns nc (on Linux it keeps a duplicate of its fd and closes nc itself);
// on error the caller must still close nc, which may already be closed.
// After Close it returns ErrServerClosed.
func (s *Server) Attach(nc net.Conn, data any) (*Conn, error) {
	c := new(Conn)
	if err := s.AttachConn(c, nc, data); err != nil {
		return nil, err
	}
	return c, nil
}

// AttachConnBuffered is AttachConn for a connection whose handshake is
// not over on the wire. response, if any, is the handshake's answer (the
// 101) not yet written: it is queued ahead of every frame and leaves with
// the first frames sent, or Config.DeferDelay later at the latest, so
// that a client that joins a room with its request gets the 101 and the
// answers in one write. buffered is what the client sent right after its
// request (early frames), which the handshake read already: it is parsed
// before anything read from the socket, in order.
func (s *Server) AttachConnBuffered(c *Conn, nc net.Conn, data any, response, buffered []byte) error {
	if err := s.attach(c, nc, data, response); err != nil {
		return err
	}
	if len(buffered) > 0 {
		s.prefaceMu.Lock()
		if s.preface == nil {
			s.preface = make(map[uint64][]byte)
		}
		s.preface[c.id] = append([]byte(nil), buffered...)
		s.prefaceMu.Unlock()
		s.prefaces.Add(1)
		c.schedule(evRead)
	}
	return nil
}

// takePreface returns and forgets c's early bytes, if any.
func (s *Server) takePreface(c *Conn) []byte {
	if s.prefaces.Load() == 0 {
		return nil
	}
	s.prefaceMu.Lock()
	b, ok := s.preface[c.id]
	if ok {
		delete(s.preface, c.id)
	}
	s.prefaceMu.Unlock()
	if ok {
		s.prefaces.Add(-1)
	}
	return b
}

// AttachConn is Attach into a zero Conn the caller allocated, typically as
// a field of its own per-connection state: one allocation per connection
// instead of two, and one object for the GC instead of two. c must not be
// copied or attached again, even after it closes.
func (s *Server) AttachConn(c *Conn, nc net.Conn, data any) error {
	return s.attach(c, nc, data, nil)
}

// attach is AttachConn with the handshake's unwritten response (see
// AttachConnBuffered), queued before the transport starts so that nothing
// (a pong to an early ping, a close) can go out ahead of it.
func (s *Server) attach(c *Conn, nc net.Conn, data any, response []byte) error {
	c.srv, c.data = s, data
	s.attachMu.RLock()
	defer s.attachMu.RUnlock()
	if s.closed {
		return ErrServerClosed
	}
	c.id = s.nextID.Add(1)
	now := s.wheel.now.Load()
	c.lastActive.Store(now)
	c.pingedAt.Store(-1)
	tr, err := s.newTransport(c, nc)
	if err != nil {
		return err
	}
	c.tr = tr
	s.register(c)
	s.conns.Add(1)
	s.live.Add(1)
	if len(response) > 0 {
		c.mu.Lock()
		c.q.pushLocked(rawFrame(response))
		c.pending |= inDeferred
		c.mu.Unlock()
	}
	_, due := c.timerCheck(now)
	s.wheel.add(c, due)
	if err := tr.start(); err != nil {
		tr.close()
		s.wheel.remove(c)
		s.unregister(c)
		s.conns.Done()
		return err
	}
	if len(response) > 0 {
		s.deferFlush(c)
	}
	return nil
}

func (s *Server) shard(id uint64) *shard { return &s.shards[id%numShards] }

func (s *Server) register(c *Conn) {
	sh := s.shard(c.id)
	sh.mu.Lock()
	sh.m[c.id] = c
	sh.mu.Unlock()
}

func (s *Server) unregister(c *Conn) {
	sh := s.shard(c.id)
	sh.mu.Lock()
	if _, ok := sh.m[c.id]; ok {
		delete(sh.m, c.id)
		s.live.Add(-1)
	}
	sh.mu.Unlock()
}

// Len returns the number of attached connections not yet closed.
func (s *Server) Len() int { return int(s.live.Load()) }

// MaxOutboundBytes is the limit of one connection's queue, defaults
// applied: a sender that must not be closed as a slow consumer (a replay
// of history) keeps what it queues well under it.
func (s *Server) MaxOutboundBytes() int { return s.cfg.MaxOutboundBytes }

// Range calls f for each live connection until f returns false. Each shard
// is copied under its read lock and f runs outside it, so f may call Send
// and Close. Connections attached or closed during Range may be missed or
// visited.
func (s *Server) Range(f func(*Conn) bool) {
	var buf []*Conn
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		buf = buf[:0]
		for _, c := range sh.m {
			buf = append(buf, c)
		}
		sh.mu.RUnlock()
		for _, c := range buf {
			if !f(c) {
				return
			}
		}
	}
}

// CloseAll closes every live connection with reason and text: each gets its
// close frame after its queued data, then its socket is closed. It does not
// wait.
func (s *Server) CloseAll(reason CloseReason, text string) {
	s.Range(func(c *Conn) bool {
		c.Close(reason, text)
		return true
	})
}

// Close refuses new connections, closes all with ReasonGoingAway, waits for
// them to end (bounded by the 1s close timeout) and then stops and waits for
// every goroutine the Server started. It is idempotent; concurrent calls
// wait for the first.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.attachMu.Lock()
		s.closed = true
		s.attachMu.Unlock()
		s.CloseAll(ReasonGoingAway, "server shutting down")
		s.conns.Wait()
		close(s.stop)
		if s.poll != nil {
			s.poll.stop()
		}
		s.runq.close()
		s.wg.Wait()
		if s.poll != nil {
			s.poll.closeFds()
		}
	})
	return nil
}

// deferFlush lists c for the next flush of deferred frames, which comes
// Config.DeferDelay after the first connection was listed.
func (s *Server) deferFlush(c *Conn) {
	s.deferMu.Lock()
	s.deferred = append(s.deferred, c)
	arm := !s.deferArmed
	s.deferArmed = true
	s.deferMu.Unlock()
	if arm {
		time.AfterFunc(time.Duration(s.deferDelay.Load()), s.flushDeferred)
	}
}

// SetDeferDelay changes how long deferred frames may wait from the next
// flush on; d <= 0 returns to Config.DeferDelay. A node in a connection
// storm waits longer: each flush is a write per listed connection, and
// while rooms fill nearly every member has a notice listed in every
// flush.
func (s *Server) SetDeferDelay(d time.Duration) {
	if d <= 0 {
		d = s.cfg.DeferDelay
	}
	s.deferDelay.Store(int64(d))
}

// DeferDelay returns the deferred frames' delay in effect.
func (s *Server) DeferDelay() time.Duration { return time.Duration(s.deferDelay.Load()) }

// flushDeferred has every listed connection's deferred frames written.
func (s *Server) flushDeferred() {
	s.deferMu.Lock()
	list := s.deferred
	s.deferred, s.deferArmed = nil, false
	s.deferMu.Unlock()
	for _, c := range list {
		c.flushDeferred()
	}
}
