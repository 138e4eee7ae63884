package session

import (
	"context"
	"log/slog"
	"reflect"
	"strings"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
)

// request is one client frame being run.
type request struct {
	ctx context.Context
	d   *device
	env wire.Envelope
	// ref is echoed in an Error: the frame's ref, or a send's clientMsgId
	// when the frame has none.
	ref string
	// contents are the contents already decoded, of a frame the node
	// runs for the device (handleOwn); nil for a client's frame.
	contents any
	// followed is set when the client's frames may run right after this
	// one: always for a client's frame; for one the node runs for the
	// device, when the client sent bytes behind its handshake request or
	// may have seen its 101 before this frame's answer (see Attach).
	followed bool
}

// handleFrame runs one client frame on the device's runner and answers
// every rejection with an Error frame; the connection stays open.
func (s *Server) handleFrame(d *device, b []byte) {
	env, err := wire.DecodeEnvelope(b)
	if err != nil {
		s.metrics.FramesIn.Add(1)
		d.sendError(&s.metrics, wire.ChannelSession, env.Ref, env.Message.Type, chat.ClientError(err))
		return
	}
	s.handle(&request{d: d, env: env, followed: true})
}

// handleOwn runs a chat-room frame of type typ that the handshake's URL
// asked for (?room=, ?resume=) as if the client had sent it, its
// contents given decoded: one per guest of a join storm, whose JSON the
// node wrote and read back only to reach the same handler.
func (s *Server) handleOwn(d *device, typ string, contents any, followed bool) {
	s.handle(&request{d: d, env: wire.Envelope{Channel: wire.ChannelChatRoom, Message: wire.Message{Type: typ}}, contents: contents, followed: followed})
}

// handle runs r, a frame whose envelope is read (and, for the node's own,
// its contents decoded); it sets the request's deadline and ref.
func (s *Server) handle(r *request) {
	s.metrics.FramesIn.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	d, env := r.d, r.env
	r.ctx, r.ref = ctx, env.Ref
	var err error
	switch env.Channel {
	case wire.ChannelChatRoom:
		err = s.processChatRoom(r)
	case wire.ChannelChat:
		err = s.processChat(r)
	case wire.ChannelSession:
		err = s.processSession(r)
	case wire.ChannelPing, wire.ChannelPresence:
		err = unknownType(env)
	default:
		d.sendError(&s.metrics, wire.ChannelSession, r.ref, env.Message.Type, wire.Errorf(wire.CodeUnknownChannel, "unknown channel %q", env.Channel))
		return
	}
	if err != nil {
		ce := chat.ClientError(err)
		if chat.Logged(ce) {
			s.cfg.Limiter.Warn("request failed", slog.String("user", d.User().ID()), slog.String("device", d.ID()),
				slog.String("type", env.Message.Type), slog.Any("err", err))
		}
		d.sendError(&s.metrics, env.Channel, r.ref, env.Message.Type, ce)
	}
}

// processChatRoom dispatches a chat-room frame to its type's handler.
func (s *Server) processChatRoom(r *request) error {
	switch r.env.Message.Type {
	case wire.TypeJoinRoom:
		return s.processJoin(r)
	case wire.TypeLeaveRoom:
		return s.processLeave(r)
	case wire.TypeSendMessage:
		return s.processSend(r)
	case wire.TypeHistory:
		return s.processHistory(r)
	case wire.TypeResume:
		return s.processResume(r)
	case wire.TypeGetMembers:
		return s.processGetMembers(r)
	case wire.TypeTyping, wire.TypeStopTyping: // typing.go
		return s.processTyping(r, r.env.Message.Type == wire.TypeStopTyping)
	case wire.TypeMarkRead: // read.go
		return s.processMarkRead(r)
	case wire.TypeEditMessage, wire.TypeDeleteMessage, wire.TypeReact: // edit.go
		return s.processChange(r)
	default:
		return unknownType(r.env)
	}
}

// processSession dispatches a frame of the session channel.
func (s *Server) processSession(r *request) error {
	if r.env.Message.Type != wire.TypeRefresh {
		return unknownType(r.env)
	}
	return s.processRefresh(r)
}

// processChat dispatches a frame of the seed's global chat channel.
func (s *Server) processChat(r *request) error {
	if r.env.Message.Type != wire.TypeSubmitMessage {
		return unknownType(r.env)
	}
	return s.processSubmit(r)
}

// unknownType refuses a frame type the server does not handle on the
// frame's channel, naming the ones a client may send there (wire.Frames).
func unknownType(env wire.Envelope) error {
	types := wire.ClientTypes(env.Channel)
	if len(types) == 0 {
		return wire.Errorf(wire.CodeUnknownType, "clients cannot send %q on channel %q: it is the server's", env.Message.Type, env.Channel)
	}
	return wire.Errorf(wire.CodeUnknownType, "unknown %s type %q; clients send %s", env.Channel, env.Message.Type, strings.Join(types, ", "))
}

// decode reads the frame's contents into v, a pointer to the type of
// the contents a handleOwn frame carries.
func (r *request) decode(v any) error {
	if r.contents != nil {
		reflect.ValueOf(v).Elem().Set(reflect.ValueOf(r.contents))
		return nil
	}
	return wire.DecodeContents(r.env.Message.Contents, v)
}
