package session

import "github.com/natterchat/natter/node/wire"

// processTyping handles Typing and StopTyping: the other members' devices
// hear of it (chat.Service.Typing throttles and drops quietly); the
// typist gets no answer unless the frame is refused.
func (s *Server) processTyping(r *request, stop bool) error {
	var in wire.ChatRef
	if err := r.decode(&in); err != nil {
		return err
	}
	return s.cfg.Chat.Typing(r.ctx, r.d.who(), in, stop)
}
