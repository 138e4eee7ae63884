package session

import (
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// processHistory handles History with one HistoryPage.
func (s *Server) processHistory(r *request) error {
	var in wire.History
	if err := r.decode(&in); err != nil {
		return err
	}
	c, err := s.cfg.Chat.Resolve(r.ctx, in.ChatRef)
	if err != nil {
		return err
	}
	msgs, err := s.cfg.Chat.History(r.ctx, r.d.who(), c.ID, store.Page{Before: in.Before, After: in.After, Limit: in.Limit})
	if err != nil {
		return err
	}
	page := wire.HistoryPage{Room: c.Name, Chat: c.ID, Messages: make([]wire.NewMessage, len(msgs))}
	for i := range msgs {
		page.Messages[i] = chat.HistoryMessage(c.Name, &msgs[i])
	}
	r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeHistoryPage, page)
	return nil
}
