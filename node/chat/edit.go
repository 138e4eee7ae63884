package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Edits, deletions and reactions are entries of the chat's stream (see
// store/edits.go): stored like messages, so the fan-out delivers them in
// order (Render makes their frames) and resume and gap repair replay
// them. Each operation checks, stores its entry, then folds the entry
// into the target's state (store.UpdateMessageState), which is what
// history reads. A node that dies between the two leaves the state
// behind the stream until the client retries with the same clientMsgId:
// the retry's entry is the same entry (dedup) and folding it again
// changes nothing that was folded before.
//
// A deletion is recorded in the state first: storing its entry is what
// announces it, and a member who hears of it and then reads history,
// where a page that ends before the entry shows what the states say,
// must find the message deleted. The state keeps DeletePending until the
// entry is folded in; a deletion that stopped in between (its entry
// perhaps never stored) is finished by the next DeleteMessage of the
// message, which stores the entry, and not refused as already done.
// Edits and reactions need their entry's sequence to fold (the latest
// edit wins, a reaction mark keeps its latest sequence), so their state
// follows their announcement; a history page folds in the changes it
// holds.

// maxClientSeq bounds a sequence taken from a client (JavaScript's safe
// integers).
const maxClientSeq = 1 << 53

// Change is an edit, deletion or reaction a user asks for.
type Change struct {
	Kind store.EntryKind
	// Seq is the message changed.
	Seq uint64
	// Text is an edit's new text.
	Text string
	// Emoji and On are a reaction's.
	Emoji string
	On    bool
	// ClientMsgID makes a retried change one change.
	ClientMsgID string
}

// Apply validates and stores a change of a chat's message by who; the
// fan-out delivers it to the members. The returned entry carries its
// sequence.
func (s *Service) Apply(ctx context.Context, who Identity, c store.Chat, ch Change) (store.Message, error) {
	if err := s.validChange(ch); err != nil {
		return store.Message{}, err
	}
	if err := s.RequireMember(ctx, who.ID, c.ID); err != nil {
		return store.Message{}, err
	}
	target, st, err := s.target(ctx, c.ID, ch.Seq)
	finish := false
	if ch.Kind == store.KindDelete && errors.Is(err, errDeleted) {
		if !st.DeletePending {
			// A delete that stopped before erasing everything (a node
			// died) is finished by the next one.
			_ = s.erase(ctx, c.ID, ch.Seq, st) // logged; the answer is still "deleted"
			return store.Message{}, err
		}
		// Recorded but perhaps never announced: this one announces it.
		target, err = s.pendingTarget(ctx, c.ID, ch.Seq)
		finish = true
	}
	if err != nil {
		return store.Message{}, err
	}
	if err := s.authorize(ctx, who, c, target, st, ch); err != nil {
		return store.Message{}, err
	}
	if ch.Kind == store.KindDelete && !finish {
		if err := s.recordDeletion(ctx, c.ID, ch.Seq); err != nil {
			return store.Message{}, err
		}
	}
	e := store.Message{
		ChatID: c.ID, UserID: who.ID, UserName: who.Name, PostedAt: time.Now().UTC(),
		Kind: ch.Kind, Target: ch.Seq, Text: ch.Text, Emoji: ch.Emoji, On: ch.On,
	}
	e.ID = changeID(who.ID, c.ID, ch)
	seq, _, err := s.cfg.Store.PublishMessage(ctx, e)
	if err != nil {
		s.metrics.PublishErrors.Add(1)
		return store.Message{}, fmt.Errorf("publish %s: %w", ch.Kind, err)
	}
	e.Seq = seq
	st, err = s.cfg.Store.UpdateMessageState(ctx, c.ID, ch.Seq, func(st *store.MessageState) error {
		st.Apply(&e)
		return nil
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("%s: fold into message %d: %w", ch.Kind, ch.Seq, err)
	}
	if st.Deleted {
		// A deletion, or an edit that raced with one: the deletion
		// erases every edit it saw in the state; an edit folded after it
		// erases itself here.
		if err := s.erase(ctx, c.ID, ch.Seq, st); err != nil && ch.Kind == store.KindDelete {
			// The client's retry finishes it (see target).
			return store.Message{}, err
		}
	}
	return e, nil
}

// changeID is the id a change is stored under: random, or derived from
// its clientMsgId within its kind, so that a retried change is one entry
// and an edit never takes the id of a send or a reaction.
func changeID(userID, chatID string, ch Change) string {
	if ch.ClientMsgID == "" {
		return messageID(userID, chatID, "")
	}
	return messageID(userID, chatID, string(ch.Kind)+":"+ch.ClientMsgID)
}

// validChange checks a change's fields.
func (s *Service) validChange(ch Change) error {
	switch {
	case ch.Seq == 0:
		return wire.Errorf(wire.CodeMissingField, "seq is required")
	case ch.Seq >= maxClientSeq:
		return wire.Errorf(wire.CodeInvalidField, "seq is out of range")
	case ch.ClientMsgID != "" && !subjects.ValidID(ch.ClientMsgID):
		return wire.Errorf(wire.CodeInvalidField, "clientMsgId must be 1-64 characters of [A-Za-z0-9_-]")
	}
	switch ch.Kind {
	case store.KindEdit:
		if ch.Text == "" {
			return wire.Errorf(wire.CodeMissingField, "message is empty")
		}
		return s.ValidText(ch.Text)
	case store.KindReact:
		return ValidEmoji(ch.Emoji)
	case store.KindDelete:
		return nil
	}
	return fmt.Errorf("chat: unknown change %q", ch.Kind)
}

// errDeleted marks a target that was deleted, for Apply to finish the
// deletion's erasing.
var errDeleted = wire.Errorf(wire.CodeMessageDeleted, "that message was deleted")

// target reads the message a change or reply names and its state: the
// message must be one (not an edit or other entry) and not deleted.
func (s *Service) target(ctx context.Context, chatID string, seq uint64) (store.Message, store.MessageState, error) {
	states, err := s.cfg.Store.MessageStates(ctx, chatID, []uint64{seq})
	if err != nil {
		return store.Message{}, store.MessageState{}, fmt.Errorf("read message %d: %w", seq, err)
	}
	st := states[seq]
	if st.Deleted {
		return store.Message{}, st, errDeleted
	}
	m, err := s.cfg.Store.Message(ctx, chatID, seq)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.Kind != "" {
		return store.Message{}, st, wire.Errorf(wire.CodeMessageNotFound, "this chat has no message %d", seq)
	}
	if err != nil {
		return store.Message{}, st, fmt.Errorf("read message %d: %w", seq, err)
	}
	return m, st, nil
}

// recordDeletion records in the state of message seq that it is
// deleted, ahead of the deletion's entry (DeletePending). A deletion
// finished meanwhile by another request is not announced twice.
func (s *Service) recordDeletion(ctx context.Context, chatID string, seq uint64) error {
	_, err := s.cfg.Store.UpdateMessageState(ctx, chatID, seq, func(st *store.MessageState) error {
		if st.Deleted && !st.DeletePending {
			return errDeleted
		}
		st.Deleted, st.DeletePending = true, true
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete: record message %d deleted: %w", seq, err)
	}
	return nil
}

// pendingTarget reads a message whose deletion is recorded but pending,
// for the deletion that finishes it; one already erased was finished.
func (s *Service) pendingTarget(ctx context.Context, chatID string, seq uint64) (store.Message, error) {
	m, err := s.cfg.Store.Message(ctx, chatID, seq)
	if errors.Is(err, store.ErrNotFound) {
		return store.Message{}, errDeleted
	}
	if err != nil {
		return store.Message{}, fmt.Errorf("read message %d: %w", seq, err)
	}
	return m, nil
}

// authorize checks that who may make the change: an edit by the sender,
// a deletion by the sender or the chat's owner, a new reaction within
// store.MaxReactions.
func (s *Service) authorize(ctx context.Context, who Identity, c store.Chat, target store.Message, st store.MessageState, ch Change) error {
	switch ch.Kind {
	case store.KindEdit:
		if target.UserID != who.ID {
			return wire.Errorf(wire.CodeNotSender, "only the sender can edit a message")
		}
	case store.KindDelete:
		if target.UserID == who.ID {
			return nil
		}
		m, err := s.cfg.Store.Member(ctx, c.ID, who.ID)
		if err != nil && !errors.Is(err, store.ErrNotMember) { // a guest's membership is not stored
			return fmt.Errorf("read membership: %w", err)
		}
		if err != nil || m.Role != store.RoleOwner {
			return wire.Errorf(wire.CodeNotSender, "only the sender or the chat's owner can delete a message")
		}
	case store.KindReact:
		if ch.On && !st.Reacted(ch.Emoji) && st.ReactionCount() >= store.MaxReactions {
			return wire.Errorf(wire.CodeTooManyReactions, "a message has at most %d different reactions", store.MaxReactions)
		}
	}
	return nil
}

// erase removes a deleted message's text from storage: the message and
// every edit of it. It is idempotent, and the next DeleteMessage of the
// same message erases again what a failed one left.
func (s *Service) erase(ctx context.Context, chatID string, seq uint64, st store.MessageState) error {
	seqs := append([]uint64{seq}, st.Edits...)
	if err := s.cfg.Store.EraseMessages(ctx, chatID, seqs); err != nil {
		s.cfg.Limiter.Warn("erasing a deleted message failed", "chat", chatID, "seq", seq, "err", err)
		return fmt.Errorf("erase message %d: %w", seq, err)
	}
	return nil
}
