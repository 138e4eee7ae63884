package store

import (
	"fmt"
	"strings"
	"time"
)

// Edits, deletions and reactions are entries of the chat's ordered
// stream like its messages: each gets the chat's next sequence, goes out
// live and is replayed by resume and gap repair, so a device that was
// away ends with the same state as one that stayed. An entry names the
// message it changes by Target. Pages (Messages) return every entry;
// readers fold them into their targets with MessageState.Apply, and the
// state of every changed message is kept (UpdateMessageState) so that a
// page of old messages needs no read of everything after it.

// EntryKind is the kind of a stream entry that changes an earlier message.
type EntryKind string

// Entry kinds; a message has none.
const (
	// KindEdit replaces the target's text with the entry's.
	KindEdit EntryKind = "edit"
	// KindDelete deletes the target. The entry has no text.
	KindDelete EntryKind = "delete"
	// KindReact adds (On) or takes back the entry user's Emoji on the
	// target. The entry has no text.
	KindReact EntryKind = "react"
)

// Reply is the message a message answers: its sequence, sender and the
// start of its text when the reply was sent.
type Reply struct {
	Seq      uint64 `json:"seq"`
	UserID   string `json:"user"`
	UserName string `json:"name,omitempty"`
	Excerpt  string `json:"excerpt"`
}

// Limits of entries.
const (
	// MaxEmojiBytes bounds a reaction.
	MaxEmojiBytes = 32
	// MaxReactions bounds the distinct reactions on one message.
	MaxReactions = 32
)

// validEntry checks the fields that depend on an entry's kind.
func validEntry(m Message) error {
	switch m.Kind {
	case "":
		if m.Target != 0 || m.Emoji != "" || m.On {
			return fmt.Errorf("%w: a message has no target", ErrInvalid)
		}
		if m.ReplyTo != nil && (m.ReplyTo.Seq == 0 || m.ReplyTo.Seq >= maxSeq) {
			return fmt.Errorf("%w: reply to sequence %d", ErrInvalid, m.ReplyTo.Seq)
		}
		if strings.TrimSpace(m.Text) == "" {
			return fmt.Errorf("%w: empty text", ErrInvalid)
		}
		return nil
	case KindEdit, KindDelete, KindReact:
	default:
		return fmt.Errorf("%w: entry kind %q", ErrInvalid, m.Kind)
	}
	switch {
	case m.Target == 0:
		return fmt.Errorf("%w: %s without a target", ErrInvalid, m.Kind)
	case m.ReplyTo != nil:
		return fmt.Errorf("%w: %s with a reply", ErrInvalid, m.Kind)
	case m.Kind == KindEdit && strings.TrimSpace(m.Text) == "":
		return fmt.Errorf("%w: empty text", ErrInvalid)
	case m.Kind != KindEdit && m.Text != "":
		return fmt.Errorf("%w: %s with text", ErrInvalid, m.Kind)
	case m.Kind == KindReact && (m.Emoji == "" || len(m.Emoji) > MaxEmojiBytes):
		return fmt.Errorf("%w: emoji %q", ErrInvalid, m.Emoji)
	case m.Kind != KindReact && (m.Emoji != "" || m.On):
		return fmt.Errorf("%w: %s with a reaction", ErrInvalid, m.Kind)
	}
	return nil
}

// maxSeq bounds sequences taken from clients (JavaScript's safe integers).
const maxSeq = 1 << 53

// MessageState is what later entries did to a message. Applying an entry
// is idempotent and commutes with applying the others (the latest edit by
// sequence wins, a reaction mark keeps its latest sequence, deletion is
// final), so states updated by several nodes at once, or folded again
// from a page, agree.
type MessageState struct {
	// EditSeq is the entry with the latest text, EditedAt its time.
	EditSeq  uint64    `json:"editSeq,omitempty"`
	EditedAt time.Time `json:"editedAt,omitzero"`
	// Edits are every edit entry's sequence: erased with the message.
	Edits   []uint64 `json:"edits,omitempty"`
	Deleted bool     `json:"deleted,omitempty"`
	// DeletePending marks a deletion recorded here ahead of its entry:
	// the state says deleted before the members hear of it, and until
	// the entry is folded in it may not be stored (its node failed in
	// between), so the next deletion of the message stores one.
	DeletePending bool `json:"deletePending,omitempty"`
	// Reactions maps emoji -> user id -> that user's latest mark.
	Reactions map[string]map[string]Mark `json:"reactions,omitempty"`
}

// Mark is one user's latest reaction entry for one emoji.
type Mark struct {
	Seq uint64 `json:"seq"`
	On  bool   `json:"on,omitempty"`
}

// Apply folds the entry e (of any kind but a message) into st. It
// reports whether st changed.
func (st *MessageState) Apply(e *Message) bool {
	switch e.Kind {
	case KindEdit:
		if st.hasEdit(e.Seq) {
			return false
		}
		st.Edits = append(st.Edits, e.Seq)
		if e.Seq > st.EditSeq {
			st.EditSeq, st.EditedAt = e.Seq, e.PostedAt
		}
		return true
	case KindDelete:
		changed := !st.Deleted || st.DeletePending
		st.Deleted, st.DeletePending = true, false
		return changed
	case KindReact:
		users := st.Reactions[e.Emoji]
		if old, ok := users[e.UserID]; ok && old.Seq >= e.Seq {
			return false
		}
		if users == nil {
			if st.Reactions == nil {
				st.Reactions = make(map[string]map[string]Mark)
			}
			users = make(map[string]Mark)
			st.Reactions[e.Emoji] = users
		}
		users[e.UserID] = Mark{Seq: e.Seq, On: e.On}
		return true
	}
	return false
}

func (st *MessageState) hasEdit(seq uint64) bool {
	for _, s := range st.Edits {
		if s == seq {
			return true
		}
	}
	return false
}

// Reacted reports whether emoji is among the message's reactions (marked
// on by anyone): a new one counts against MaxReactions.
func (st *MessageState) Reacted(emoji string) bool {
	for _, m := range st.Reactions[emoji] {
		if m.On {
			return true
		}
	}
	return false
}

// ReactionCount is the number of distinct emoji marked on.
func (st *MessageState) ReactionCount() int {
	n := 0
	for emoji := range st.Reactions {
		if st.Reacted(emoji) {
			n++
		}
	}
	return n
}
