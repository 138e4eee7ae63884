package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// A page of history is a page of messages with what later entries did to
// each folded in: the latest text and when it was edited, a tombstone for
// a deleted message, the reactions. The stream's own entries (edits,
// deletions, reactions) are not listed: a client that wants them as
// they happen resumes instead.

// Folded is a message of a history page.
type Folded struct {
	// Message is the stored message with its latest Text; a deleted
	// message keeps only its ChatID and Seq.
	store.Message
	EditedAt time.Time
	Deleted  bool
	// Reactions maps emoji -> the ids of the users who reacted, in the
	// order they did.
	Reactions map[string][]string
	// ReplyDeleted is set when the message answers one that was deleted
	// since: clients draw the quote without its excerpt.
	ReplyDeleted bool
}

// historyRounds bounds the pages History reads to fill one with messages
// when the chat's newest entries are mostly edits and reactions; each
// round reads twice as many entries as the last, up to MaxPageLimit.
const historyRounds = 8

// History reads a page of a chat's messages for a member, folded. A page
// holds up to Limit messages, and the tombstones of deleted messages
// between them besides.
func (s *Service) History(ctx context.Context, who Identity, chatID string, p store.Page) ([]Folded, error) {
	if p.Before != 0 && (p.After != 0 || p.Forward) {
		return nil, wire.Errorf(wire.CodeInvalidField, "give before or after, not both")
	}
	if p.Limit < 0 || p.Limit > store.MaxPageLimit {
		return nil, wire.Errorf(wire.CodeInvalidField, "limit must be between 1 and %d", store.MaxPageLimit)
	}
	if err := s.RequireMember(ctx, who.ID, chatID); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit == 0 {
		limit = store.DefaultPageLimit
	}
	entries, lo, hi, err := s.historyEntries(ctx, chatID, p, limit)
	if err != nil {
		return nil, err
	}
	return s.fold(ctx, chatID, entries, lo, hi)
}

// historyEntries reads the page's entries, more pages while they hold
// fewer than limit messages, and returns them ascending with the span of
// sequences they cover: [lo, hi].
func (s *Service) historyEntries(ctx context.Context, chatID string, p store.Page, limit int) (entries []store.Message, lo, hi uint64, err error) {
	forward := p.After > 0 || p.Forward
	lo, hi = 0, ^uint64(0)
	switch {
	case forward:
		lo = p.After + 1
	case p.Before > 0:
		hi = p.Before - 1
	}
	p.Limit = limit
	messages := 0
	for round := 0; round < historyRounds && messages < limit; round++ {
		if round > 0 {
			// Still short: the entries are mostly changes; read more at
			// once.
			p.Limit = min(2*p.Limit, store.MaxPageLimit)
		}
		page, err := s.cfg.Store.Messages(ctx, chatID, p)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("read history: %w", err)
		}
		for i := range page {
			if page[i].Kind == "" {
				messages++
			}
		}
		// A short page is the end of the chat (or its start, backwards).
		full := len(page) > 0 && len(page) == p.Limit
		if forward {
			entries = append(entries, page...)
			if !full {
				return trim(entries, lo, ^uint64(0), limit, true)
			}
			p.After = page[len(page)-1].Seq
			hi = p.After
		} else {
			entries = append(page, entries...)
			if !full {
				return trim(entries, 0, hi, limit, false)
			}
			p.Before = page[0].Seq
			lo = p.Before
		}
	}
	return trim(entries, lo, hi, limit, forward)
}

// trim keeps limit messages of entries, the oldest when reading forward
// and the newest otherwise, and narrows the span to end at the last
// message it keeps: the tombstones beyond belong to the next page, which
// a client asks for from that message.
func trim(entries []store.Message, lo, hi uint64, limit int, forward bool) ([]store.Message, uint64, uint64, error) {
	n, last := 0, uint64(0)
	if forward {
		for i := range entries {
			if entries[i].Kind == "" {
				if n++; n > limit {
					return entries[:i], lo, last, nil
				}
				last = entries[i].Seq
			}
		}
		if hi != ^uint64(0) && last != 0 {
			hi = last // more follow: the page ends at its last message
		}
		return entries, lo, hi, nil
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Kind == "" {
			if n++; n > limit {
				return entries[i+1:], last, hi, nil
			}
			last = entries[i].Seq
		}
	}
	if lo != 0 && last != 0 {
		lo = last // more come before: the page starts at its first message
	}
	return entries, lo, hi, nil
}

// fold makes the page's messages and the tombstones in [lo, hi] from its
// entries and the stored states.
func (s *Service) fold(ctx context.Context, chatID string, entries []store.Message, lo, hi uint64) ([]Folded, error) {
	var seqs []uint64
	byEdit := make(map[uint64]string) // the page's edit entries' texts
	for i := range entries {
		switch entries[i].Kind {
		case "":
			seqs = append(seqs, entries[i].Seq)
		case store.KindEdit:
			byEdit[entries[i].Seq] = entries[i].Text
		}
	}
	states, err := s.cfg.Store.MessageStates(ctx, chatID, seqs)
	if err != nil {
		return nil, fmt.Errorf("read message states: %w", err)
	}
	// Entries of the page that the states may not have yet (a change
	// being folded right now, or one whose node died before folding).
	for i := range entries {
		if e := &entries[i]; e.Kind != "" && slices.Contains(seqs, e.Target) {
			st := states[e.Target]
			st.Apply(e)
			states[e.Target] = st
		}
	}
	deleted, err := s.cfg.Store.DeletedMessages(ctx, chatID)
	if err != nil {
		return nil, fmt.Errorf("read deleted messages: %w", err)
	}
	out := make([]Folded, 0, len(seqs))
	for i := range entries {
		m := entries[i]
		if m.Kind != "" {
			continue
		}
		st := states[m.Seq]
		if st.Deleted || contains(deleted, m.Seq) {
			out = append(out, Folded{Message: store.Message{ChatID: chatID, Seq: m.Seq}, Deleted: true})
			continue
		}
		f := Folded{Message: m, Reactions: reactions(st)}
		if m.ReplyTo != nil && contains(deleted, m.ReplyTo.Seq) {
			f.ReplyDeleted = true
			r := *m.ReplyTo
			r.Excerpt = ""
			f.ReplyTo = &r
		}
		if st.EditSeq != 0 {
			f.EditedAt = st.EditedAt
			if text, ok := byEdit[st.EditSeq]; ok {
				f.Text = text
			} else if e, err := s.cfg.Store.Message(ctx, chatID, st.EditSeq); err == nil {
				f.Text = e.Text
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("read the latest edit of message %d: %w", m.Seq, err)
			}
		}
		out = append(out, f)
	}
	// Deleted messages are erased from the stream: their tombstones come
	// from the deletion markers in the page's span.
	for _, seq := range deleted {
		if seq >= lo && seq <= hi && !slices.ContainsFunc(out, func(f Folded) bool { return f.Seq == seq }) {
			out = append(out, Folded{Message: store.Message{ChatID: chatID, Seq: seq}, Deleted: true})
		}
	}
	slices.SortFunc(out, func(a, b Folded) int { return cmpSeq(a.Seq, b.Seq) })
	return out, nil
}

// reactions lists who reacted with what, in the order of their marks.
func reactions(st store.MessageState) map[string][]string {
	var out map[string][]string
	for emoji, users := range st.Reactions {
		type mark struct {
			user string
			seq  uint64
		}
		var on []mark
		for u, m := range users {
			if m.On {
				on = append(on, mark{u, m.Seq})
			}
		}
		if len(on) == 0 {
			continue
		}
		slices.SortFunc(on, func(a, b mark) int { return cmpSeq(a.seq, b.seq) })
		if out == nil {
			out = make(map[string][]string)
		}
		for _, m := range on {
			out[emoji] = append(out[emoji], m.user)
		}
	}
	return out
}

// contains reports whether the ascending seqs hold seq.
func contains(seqs []uint64, seq uint64) bool {
	_, ok := slices.BinarySearch(seqs, seq)
	return ok
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// HistoryMessage is the NewMessage contents of a history page's message
// of the chat named room.
func HistoryMessage(room string, f *Folded) wire.NewMessage {
	if f.Deleted {
		return wire.NewMessage{Room: room, Chat: f.ChatID, Seq: f.Seq, Deleted: true}
	}
	m := NewMessage(room, &f.Message)
	if m.ReplyTo != nil {
		m.ReplyTo.Deleted = f.ReplyDeleted
	}
	if !f.EditedAt.IsZero() {
		t := f.EditedAt
		m.EditedAt = &t
	}
	m.Reactions = f.Reactions
	return m
}
