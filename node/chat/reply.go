package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/natterchat/natter/store"
)

// ExcerptLen is how many characters of the original a reply quotes.
const ExcerptLen = 100

// replyTo reads the message a new message answers, which must be a
// message of the chat and not deleted, and returns what the reply keeps
// of it: its sender and the start of its latest text.
func (s *Service) replyTo(ctx context.Context, chatID string, seq uint64) (*store.Reply, error) {
	m, st, err := s.target(ctx, chatID, seq)
	if err != nil {
		return nil, err
	}
	text := m.Text
	if st.EditSeq != 0 {
		e, err := s.cfg.Store.Message(ctx, chatID, st.EditSeq)
		switch {
		case err == nil:
			text = e.Text
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("read the latest edit of message %d: %w", seq, err)
		}
	}
	return &store.Reply{Seq: seq, UserID: m.UserID, UserName: m.UserName, Excerpt: excerpt(text, ExcerptLen)}, nil
}

// excerpt returns the first n characters of text.
func excerpt(text string, n int) string {
	i := 0
	for j := range text {
		if i == n {
			return text[:j]
		}
		i++
	}
	return text
}
