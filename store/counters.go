package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/subjects"
)

// Counters: the AUTH_LIMITS stream keeps one counter per subject
// (subjects.AuthCount), shared by every node: JetStream's counter streams
// (nats-server 2.12 and later) add a "Nats-Incr" publish to the subject's
// last value on the stream leader and answer with the sum, so concurrent
// increments from many nodes need no compare-and-swap loop. Only the last
// message of a subject is kept, and it expires CounterWindow after it was
// written: a counter that was not raised for that long starts over from
// zero.

// hdrIncr is the header of a counter increment; hdrTimeStamp the time of
// a message in a direct get answer.
const (
	hdrIncr      = "Nats-Incr"
	hdrTimeStamp = "Nats-Time-Stamp"
)

// Count is the value of a counter and when it was last raised.
type Count struct {
	N  int64
	At time.Time
}

// counterStreamConfig is the AUTH_LIMITS configuration.
func (s *JetStream) counterStreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:              subjects.StreamAuthLimits,
		Subjects:          []string{subjects.AuthCountWildcard},
		Storage:           jetstream.FileStorage,
		Replicas:          s.cfg.Replicas,
		AllowDirect:       true,
		AllowMsgCounter:   true,
		MaxAge:            s.cfg.CounterWindow,
		MaxMsgsPerSubject: 1,
	}
}

// Incr raises the counter of subject (a subjects.AuthCount) by one and
// returns its new value. It is tried once: a retried increment could
// count one event twice.
func (s *JetStream) Incr(ctx context.Context, subject string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	m := nats.NewMsg(subject)
	m.Header.Set(hdrIncr, "1")
	ack, err := s.js.PublishMsg(ctx, m)
	if err != nil {
		if IsUnavailable(err) {
			return 0, fmt.Errorf("count %s: %w: %w", subject, ErrUnavailable, err)
		}
		return 0, fmt.Errorf("count %s: %w", subject, err)
	}
	n, err := strconv.ParseInt(ack.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("count %s: the answer's value %q: %w", subject, ack.Value, err)
	}
	return n, nil
}

// Counter reads the counter of subject from any replica (it may trail an
// increment made a moment ago elsewhere); a counter never raised, or
// expired, is zero.
func (s *JetStream) Counter(ctx context.Context, subject string) (Count, error) {
	m, err := s.getOne(ctx, subjects.StreamAuthLimits, directReq{LastFor: subject})
	if err != nil {
		if IsUnavailable(err) {
			return Count{}, fmt.Errorf("read counter %s: %w: %w", subject, ErrUnavailable, err)
		}
		return Count{}, fmt.Errorf("read counter %s: %w", subject, err)
	}
	if m == nil {
		return Count{}, nil
	}
	var v struct {
		Val string `json:"val"`
	}
	if err := json.Unmarshal(m.Data, &v); err != nil {
		return Count{}, fmt.Errorf("read counter %s: decode %q: %w", subject, m.Data, err)
	}
	n, err := strconv.ParseInt(v.Val, 10, 64)
	if err != nil {
		return Count{}, fmt.Errorf("read counter %s: value %q: %w", subject, v.Val, err)
	}
	at, err := time.Parse(time.RFC3339Nano, m.Header.Get(hdrTimeStamp))
	if err != nil {
		return Count{}, fmt.Errorf("read counter %s: time stamp: %w", subject, err)
	}
	return Count{N: n, At: at}, nil
}
