package bench

import (
	"fmt"
	"math/bits"
	"sync"
)

// bitset is a growable set of message counters.
type bitset []uint64

func (b *bitset) set(i uint32) (was bool) {
	w := int(i / 64)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	m := uint64(1) << (i % 64)
	was = (*b)[w]&m != 0
	(*b)[w] |= m
	return was
}

func (b bitset) has(i uint32) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

func (b bitset) count() int64 {
	var n int
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// andNotCount counts the members of a that are not in b.
func andNotCount(a, b bitset) int64 {
	var n int
	for i, w := range a {
		if i < len(b) {
			w &^= b[i]
		}
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// SenderTally is what a sender sent: counters 1..Sent, of which Acked
// were stored (MessageAccepted) and Failed were refused (Error).
type SenderTally struct {
	Conn   int    `json:"conn"`
	Chat   int    `json:"chat"`
	Sent   uint32 `json:"sent"`
	Acked  bitset `json:"acked"`
	Failed bitset `json:"failed"`
}

// sender is one sending connection's state: written by the send loop and
// by the connection's reader (acks, errors).
type sender struct {
	mu     sync.Mutex
	next   uint32 // guarded by mu; the last counter sent
	acked  bitset // guarded by mu
	failed bitset // guarded by mu
}

func (s *sender) nextCounter() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	return s.next
}

// ack records a MessageAccepted; it reports false for a repeated ack.
func (s *sender) ack(counter uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.acked.set(counter)
}

func (s *sender) fail(counter uint32) {
	s.mu.Lock()
	s.failed.set(counter)
	s.mu.Unlock()
}

// pending is how many sent messages have neither an ack nor an error.
func (s *sender) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(s.next) - s.acked.count() - andNotCount(s.failed, s.acked)
}

func (s *sender) tally(conn, chat int) SenderTally {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SenderTally{Conn: conn, Chat: chat, Sent: s.next,
		Acked: append(bitset(nil), s.acked...), Failed: append(bitset(nil), s.failed...)}
}

// receiver is one connection's view of its chat: every bench message it
// got, by sender, and the chat's last sequence. Written by the
// connection's reader; read by the tally.
type receiver struct {
	mu         sync.Mutex
	lastSeq    uint64            // guarded by mu
	got        map[int32]*bitset // guarded by mu; sender -> counters
	delivered  int64             // guarded by mu
	duplicates int64             // guarded by mu
	outOfOrder int64             // guarded by mu
	foreign    int64             // guarded by mu; not a bench message of this run
	examples   []string          // guarded by mu; first few anomalies
}

const maxExamples = 5

// last is the newest seq of the chat the receiver got: where a
// reconnecting connection resumes.
func (r *receiver) last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastSeq
}

// deliver records one NewMessage; it reports whether it was new (not a
// duplicate), so that its latency is recorded once.
func (r *receiver) deliver(connID int, f *newMessageFields) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !f.ok {
		r.foreign++
		return false
	}
	if r.got == nil {
		r.got = make(map[int32]*bitset, 4)
	}
	b := r.got[int32(f.st.sender)]
	if b == nil {
		b = new(bitset)
		r.got[int32(f.st.sender)] = b
	}
	if b.set(f.st.counter) {
		r.duplicates++
		r.example("conn %d: duplicate of sender %d message %d (seq %d)", connID, f.st.sender, f.st.counter, f.seq)
		return false
	}
	r.delivered++
	if f.seq <= r.lastSeq {
		r.outOfOrder++
		r.example("conn %d: seq %d after seq %d (sender %d message %d)", connID, f.seq, r.lastSeq, f.st.sender, f.st.counter)
		return true
	}
	r.lastSeq = f.seq
	return true
}

func (r *receiver) example(format string, args ...any) {
	if len(r.examples) < maxExamples {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

// Delivery is the exact delivery accounting of a run (or a worker's
// part): every acknowledged message must reach every member's device
// exactly once and in the chat's sequence order.
type Delivery struct {
	Sent       int64 `json:"sent"`
	Acked      int64 `json:"acked"`
	Failed     int64 `json:"failed"`  // answered with an Error (not stored)
	Unacked    int64 `json:"unacked"` // neither ack nor error by the end
	Expected   int64 `json:"expectedDeliveries"`
	Delivered  int64 `json:"delivered"` // distinct deliveries
	Lost       int64 `json:"lost"`      // acked but never delivered to a member
	Duplicates int64 `json:"duplicates"`
	OutOfOrder int64 `json:"outOfOrder"`
	// Unexpected deliveries were of messages never sent, or refused.
	Unexpected int64    `json:"unexpected"`
	Foreign    int64    `json:"foreign"` // messages not from this run
	Examples   []string `json:"examples,omitempty"`
}

func (d *Delivery) add(o Delivery) {
	d.Sent += o.Sent
	d.Acked += o.Acked
	d.Failed += o.Failed
	d.Unacked += o.Unacked
	d.Expected += o.Expected
	d.Delivered += o.Delivered
	d.Lost += o.Lost
	d.Duplicates += o.Duplicates
	d.OutOfOrder += o.OutOfOrder
	d.Unexpected += o.Unexpected
	d.Foreign += o.Foreign
	for _, e := range o.Examples {
		if len(d.Examples) < 2*maxExamples {
			d.Examples = append(d.Examples, e)
		}
	}
}

// senderSide fills the send counters from every sender of the run.
func senderSide(all []SenderTally) Delivery {
	var d Delivery
	for _, s := range all {
		d.Sent += int64(s.Sent)
		d.Acked += s.Acked.count()
		failed := andNotCount(s.Failed, s.Acked)
		d.Failed += failed
		d.Unacked += int64(s.Sent) - s.Acked.count() - failed
	}
	return d
}

// tally compares what r received with what the senders of its chat had
// stored; missing() reports how many expected deliveries are still
// missing without building the full report.
func (r *receiver) tally(connID int, senders []*SenderTally) Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := Delivery{Delivered: r.delivered, Duplicates: r.duplicates, OutOfOrder: r.outOfOrder, Foreign: r.foreign}
	d.Examples = append(d.Examples, r.examples...)
	known := make(map[int32]bool, len(senders))
	for _, s := range senders {
		known[int32(s.Conn)] = true
		n := s.Acked.count()
		d.Expected += n
		var got bitset
		if b := r.got[int32(s.Conn)]; b != nil {
			got = *b
		}
		lost := andNotCount(s.Acked, got)
		d.Lost += lost
		if lost > 0 && len(d.Examples) < maxExamples {
			d.Examples = append(d.Examples, fmt.Sprintf("conn %d: lost %d of sender %d's %d stored messages", connID, lost, s.Conn, n))
		}
		// Delivered but refused or never sent.
		for w, word := range got {
			var ok uint64
			if w < len(s.Acked) {
				ok = s.Acked[w]
			}
			for b := range 64 {
				c := uint32(w*64 + b)
				if word&(1<<b) == 0 || ok&(1<<b) != 0 {
					continue
				}
				if c == 0 || c > s.Sent || s.Failed.has(c) {
					d.Unexpected++
				}
			}
		}
	}
	for id, b := range r.got {
		if !known[id] {
			d.Unexpected += b.count()
		}
	}
	return d
}

// missing counts the acked messages of senders not yet delivered to r.
func (r *receiver) missing(senders []*SenderTally) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, s := range senders {
		var got bitset
		if b := r.got[int32(s.Conn)]; b != nil {
			got = *b
		}
		n += andNotCount(s.Acked, got)
	}
	return n
}
