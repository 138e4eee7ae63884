package session

import (
	"fmt"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// processResume handles Resume: it replays the chat after afterSeq to the
// device, then hands over to live delivery on the chat's fan-out loop
// without a gap or a duplicate. A replay of ResumeLimit messages ends with
// Resumed.more, and live delivery of the chat stays held until the client
// resumes again from Resumed.lastSeq.
func (s *Server) processResume(r *request) error {
	d := &r.d.Device
	var in wire.Resume
	err := r.decode(&in)
	var c store.Chat
	if err == nil {
		c, err = s.cfg.Chat.Resolve(r.ctx, in.ChatRef)
	}
	if err == nil {
		err = s.cfg.Chat.RequireMember(r.ctx, r.d.User().ID(), c.ID)
	}
	if err != nil {
		d.EndResume(in.Chat) // a resume at connect held it
		return err
	}
	d.BeginResume(c.ID)
	msgs, err := s.cfg.Store.Messages(r.ctx, c.ID, store.Page{After: in.AfterSeq, Forward: true, Limit: s.cfg.ResumeLimit})
	if err != nil {
		d.EndResume(c.ID)
		return err
	}
	last := in.AfterSeq
	for i := range msgs {
		f := wsconn.NewTextFrame(chat.Render(c.Name, &msgs[i]))
		if err := s.paced(r, f.Len()); err != nil {
			d.EndResume(c.ID)
			return err
		}
		r.d.Send(f)
		last = msgs[i].Seq
	}
	s.metrics.FramesOut.Add(int64(len(msgs)))
	if len(msgs) == s.cfg.ResumeLimit {
		// More than one replay's worth: the client asks again from last;
		// live delivery stays held so that nothing arrives out of order.
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: c.Name, Chat: c.ID, LastSeq: last, More: true})
		return nil
	}
	s.cfg.Hub.FinishResume(d, c.ID, last, s.cfg.ResumeLimit, func(last uint64, more bool, err error) {
		if err != nil {
			r.d.sendError(&s.metrics, wire.ChannelChatRoom, "", wire.TypeResume, chat.ClientError(err))
			return
		}
		r.d.sendFrame(&s.metrics, wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: c.Name, Chat: c.ID, LastSeq: last, More: more})
	})
	return nil
}

// paced waits, before a replayed frame of size bytes is queued, until it
// fits in half the device's outbound queue (or the queue is empty). A
// replay is up to ResumeLimit messages at once, which can be more than
// the queue holds: queued in one go, it would close its own device as a
// slow consumer, and the client's next resume would do the same. Paced,
// it moves at the speed the client reads, bounded by the request's
// deadline; the runner it blocks is the device's own.
func (s *Server) paced(r *request, size int) error {
	budget := s.conns.MaxOutboundBytes() / 2
	for {
		q := r.d.Conn().QueuedBytes()
		if q == 0 || q+size <= budget {
			return nil
		}
		select {
		case <-r.ctx.Done():
			return fmt.Errorf("replay: the client did not read in time: %w", r.ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}
