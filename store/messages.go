package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// PublishMessage implements Store. The message id is the JetStream dedup id
// (Nats-Msg-Id), so every retry of the same id, here or by a client that
// resends after a reconnect, yields one stored message; the PubAck of a
// duplicate carries the original sequence.
func (s *JetStream) PublishMessage(ctx context.Context, m Message) (seq uint64, duplicate bool, err error) {
	if err := validMessage(m); err != nil {
		return 0, false, fmt.Errorf("store: publish message %q: %w", m.ID, err)
	}
	if m.PostedAt.IsZero() {
		m.PostedAt = time.Now().UTC()
	}
	data, err := json.Marshal(m)
	if err != nil {
		return 0, false, fmt.Errorf("store: publish message %s: %w", m.ID, err)
	}
	stream, subject := s.msgStream(m.ChatID)
	wait := minRetryWait
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
		ack, err := s.js.PublishMsg(actx, &nats.Msg{Subject: subject, Data: data},
			jetstream.WithMsgID(m.ID),
			jetstream.WithExpectStream(stream),
			jetstream.WithRetryAttempts(0)) // we retry, with our backoff and the same id
		cancel()
		if err == nil {
			return ack.Sequence, ack.Duplicate, nil
		}
		// A publish that failed only because no stream leader answered in
		// time (an election, a reconnect) is safe and useful to repeat with
		// the same message id.
		if !IsUnavailable(err) || ctx.Err() != nil || (s.cfg.PublishRetries > 0 && attempt >= s.cfg.PublishRetries) {
			return 0, false, fmt.Errorf("store: publish message %s to %s (attempt %d): %w", m.ID, m.ChatID, attempt+1, err)
		}
		s.cfg.Logger.Debug("store: retrying publish", "msg", m.ID, "chat", m.ChatID, "attempt", attempt+1, "err", err)
		if cerr := sleepCtx(ctx, wait); cerr != nil {
			return 0, false, fmt.Errorf("store: publish message %s to %s (attempt %d): %w", m.ID, m.ChatID, attempt+1, errors.Join(cerr, err))
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// validMessage checks what goes into a subject, a dedup id or a stored body.
func validMessage(m Message) error {
	switch {
	case !subjects.ValidID(m.ChatID):
		return fmt.Errorf("%w: chat id %q", ErrInvalid, m.ChatID)
	case !subjects.ValidID(m.ID):
		return fmt.Errorf("%w: message id %q", ErrInvalid, m.ID)
	case !subjects.ValidID(m.UserID):
		return fmt.Errorf("%w: user id %q", ErrInvalid, m.UserID)
	case m.DeviceID != "" && !subjects.ValidID(m.DeviceID):
		return fmt.Errorf("%w: device id %q", ErrInvalid, m.DeviceID)
	}
	return validEntry(m)
}

// LastSeq implements Store with one direct get by last subject.
func (s *JetStream) LastSeq(ctx context.Context, chatID string) (uint64, error) {
	if !subjects.ValidID(chatID) {
		return 0, fmt.Errorf("store: last seq of %q: %w: chat id", chatID, ErrInvalid)
	}
	stream, subject := s.msgStream(chatID)
	m, err := s.getOne(ctx, stream, directReq{LastFor: subject})
	if err != nil || m == nil {
		if err != nil {
			err = fmt.Errorf("store: last seq of %s: %w", chatID, err)
		}
		return 0, err
	}
	return headerUint(m, jetstream.SequenceHeader), nil
}

// positionFlight is one stream position request and its answer, ready
// once done is closed.
type positionFlight struct {
	done chan struct{}
	pos  Position
	err  error
}

// Position implements Store with a stream info request to each message
// stream (answered by its leader), all at once. Callers share requests:
// every device's connect asks, and in a connection storm one request
// serves many. A caller may share only a request sent after its call
// began, or the answer could miss a message acked just before the call:
// one that comes while a request is in the air joins the next one, which
// leaves when that lands (at most one waits). The position may still be
// a moment older than the caller's own would have been, which only means
// a few more messages to catch up.
func (s *JetStream) Position(ctx context.Context) (Position, error) {
	f := s.joinPositionFlight()
	select {
	case <-f.done:
		return f.pos, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("store: stream position: %w", ctx.Err())
	}
}

// joinPositionFlight returns the request a caller of Position waits for:
// a new one when none is in the air, else the next one.
func (s *JetStream) joinPositionFlight() *positionFlight {
	s.posMu.Lock()
	defer s.posMu.Unlock()
	if s.posFlight == nil {
		f := &positionFlight{done: make(chan struct{})}
		s.posFlight = f
		go s.flyPosition(f, nil)
		return f
	}
	if s.posNext == nil {
		s.posNext = &positionFlight{done: make(chan struct{})}
		go s.flyPosition(s.posNext, s.posFlight.done)
	}
	return s.posNext
}

// flyPosition sends f's request once after has landed (nil: at once), on
// its own goroutine: no caller's context may cut it short for the others.
func (s *JetStream) flyPosition(f *positionFlight, after <-chan struct{}) {
	if after != nil {
		<-after
		s.posMu.Lock()
		s.posFlight, s.posNext = f, nil
		s.posMu.Unlock()
	}
	f.pos, f.err = s.readPosition()
	s.posMu.Lock()
	if s.posFlight == f {
		s.posFlight = nil
	}
	s.posMu.Unlock()
	close(f.done)
}

// readPosition asks every message stream for its last sequence, in
// parallel.
func (s *JetStream) readPosition() (Position, error) {
	// Not a caller's ctx: the callers sharing the flight must not fail
	// with it.
	rctx, cancel := s.requestContext(context.Background())
	defer cancel()
	pos := make(Position, len(s.streams))
	errs := make([]error, len(s.streams))
	var wg sync.WaitGroup
	for p, name := range s.streams {
		wg.Go(func() {
			if s.single {
				pos[p], errs[p] = s.lastOfStream(rctx, p)
				return
			}
			st, err := s.js.Stream(rctx, name)
			if err != nil {
				errs[p] = fmt.Errorf("%s: %w", name, err)
				return
			}
			pos[p] = st.CachedInfo().State.LastSeq
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("store: stream position: %w", err)
	}
	return pos, nil
}

// lastOfStream reads the sequence of the newest message of message stream
// p with a direct get of the last message on the stream's subjects. A
// stream of one replica answers it from its only copy, the one that acks,
// so the answer covers every message acked before it was asked; and a
// direct get is served beside the stream, while a stream info request
// waits its turn in the server's JetStream API queue, which a connection
// storm fills (a request took up to 1.4 s in one, against 15 ms at rest).
// A newest message that was erased makes the position older, which only
// means a few more messages to catch up.
func (s *JetStream) lastOfStream(ctx context.Context, p int) (uint64, error) {
	m, err := s.getOne(ctx, s.streams[p], directReq{LastFor: subjects.ChatMsgFilter(p, len(s.streams))})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.streams[p], err)
	}
	if m == nil {
		return 0, nil // no message yet
	}
	return headerUint(m, jetstream.SequenceHeader), nil
}

// Messages implements Store with batched direct gets on the chat's subject.
func (s *JetStream) Messages(ctx context.Context, chatID string, p Page) ([]Message, error) {
	limit, err := pageLimit(chatID, p)
	if err != nil {
		return nil, fmt.Errorf("store: messages of %q: %w", chatID, err)
	}
	var out []Message
	switch {
	case p.After > 0 || p.Forward:
		out, err = s.messagesAfter(ctx, chatID, p.After, limit)
	case p.Before > 0:
		out, err = s.messagesBefore(ctx, chatID, p.Before, limit)
	default:
		var last uint64
		if last, err = s.LastSeq(ctx, chatID); err == nil && last > 0 {
			out, err = s.messagesBefore(ctx, chatID, last+1, limit)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: messages of %s: %w", chatID, err)
	}
	return out, nil
}

// pageLimit checks a page request and returns its limit with the default
// applied.
func pageLimit(chatID string, p Page) (int, error) {
	limit := p.Limit
	if limit == 0 {
		limit = DefaultPageLimit
	}
	switch {
	case !subjects.ValidID(chatID):
		return 0, fmt.Errorf("%w: chat id %q", ErrInvalid, chatID)
	case limit < 0 || limit > MaxPageLimit:
		return 0, fmt.Errorf("%w: limit %d", ErrInvalid, p.Limit)
	case p.Before > 0 && p.After > 0:
		return 0, fmt.Errorf("%w: both before and after", ErrInvalid)
	case p.Before > 0 && p.Forward:
		return 0, fmt.Errorf("%w: forward from before", ErrInvalid)
	}
	return limit, nil
}

// messagesAfter reads forward from after+1: one batch in the common case.
func (s *JetStream) messagesAfter(ctx context.Context, chatID string, after uint64, limit int) ([]Message, error) {
	out := make([]Message, 0, min(limit, 64))
	stream, subject := s.msgStream(chatID)
	err := s.scan(ctx, stream, subject, after+1, limit, func(m *nats.Msg, _ uint64) bool {
		if msg, ok := s.decodeStored(m); ok {
			out = append(out, msg)
		}
		return len(out) < limit
	})
	return out, err
}

// messagesBefore returns the newest limit messages below before. Direct gets
// only read forward, so it reads windows [lo, hi) below before, each twice
// as wide as the last, until it has limit messages or reached the chat's
// first message. Each message is read once; the cost beyond the answer is
// at most one batch per window read past its end.
func (s *JetStream) messagesBefore(ctx context.Context, chatID string, before uint64, limit int) ([]Message, error) {
	stream, subject := s.msgStream(chatID)
	var (
		got   []Message // ascending, all in [lo, before)
		floor uint64    // the chat's first sequence once known
		hi    = before  // exclusive end of the next window
		width = uint64(2 * limit)
	)
	for hi > 1 {
		lo := uint64(1)
		if hi > width {
			lo = hi - width
		}
		lo = max(lo, floor)
		var chunk []Message
		err := s.scan(ctx, stream, subject, lo, int(min(hi-lo, maxBatch)), func(m *nats.Msg, seq uint64) bool {
			if seq >= hi {
				return false
			}
			if msg, ok := s.decodeStored(m); ok {
				chunk = append(chunk, msg)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		got = append(chunk, got...)
		if len(got) >= limit {
			return got[len(got)-limit:], nil
		}
		if lo <= 1 || lo == floor {
			break
		}
		if floor == 0 {
			// First time short: find where the chat starts, so a sparse
			// chat stops widening there instead of at sequence 1.
			first, err := s.getOne(ctx, stream, directReq{NextFor: subject})
			if err != nil {
				return nil, err
			}
			if first == nil {
				break
			}
			if floor = headerUint(first, jetstream.SequenceHeader); floor >= lo {
				break
			}
		}
		hi, width = lo, 2*width
	}
	return got, nil
}

// decodeStored decodes a stored message from a direct get reply. A body
// that does not decode is logged and skipped rather than failing every page
// that contains it.
func (s *JetStream) decodeStored(m *nats.Msg) (Message, bool) {
	msg, err := decodeMessage(m)
	if err != nil {
		s.cfg.Logger.Warn("store: skipping undecodable message", "subject", m.Header.Get(jetstream.SubjectHeader),
			"seq", m.Header.Get(jetstream.SequenceHeader), "err", err)
		return Message{}, false
	}
	return msg, true
}

// decodeMessage decodes a stored message carried with JetStream headers
// (a direct get reply or a RePublish copy): ChatID from Nats-Subject, Seq
// from Nats-Sequence, the rest from the JSON body.
func decodeMessage(m *nats.Msg) (Message, error) {
	var msg Message
	chatID, ok := subjects.ParseChatMsg(m.Header.Get(jetstream.SubjectHeader))
	if !ok {
		return msg, fmt.Errorf("%w: subject header %q", ErrInvalid, m.Header.Get(jetstream.SubjectHeader))
	}
	seq := headerUint(m, jetstream.SequenceHeader)
	if seq == 0 {
		return msg, fmt.Errorf("%w: sequence header %q", ErrInvalid, m.Header.Get(jetstream.SequenceHeader))
	}
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		return msg, fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	msg.ChatID, msg.Seq = chatID, seq
	return msg, nil
}
