package wire

// Direction says who sends a frame type.
type Direction string

// The two directions.
const (
	FromClient Direction = "client" // client -> server
	FromServer Direction = "server" // server -> client
)

// AnyChannel is the Channel of a frame type that may come on any channel:
// an Error answers on the channel of the frame it refuses.
const AnyChannel = ""

// FrameType is one frame type of the protocol: its channel, its type and
// who sends it.
type FrameType struct {
	Channel string
	Type    string
	Dir     Direction
}

// Frames lists every frame type of the protocol (docs/protocol.md). Each
// has a JSON Schema at docs/schemas/<Dir>/<Type>.json; tests fail on a
// Type* constant of this package missing here, on an entry without its
// schema or a schema without its entry, and on a client frame type the
// server does not handle.
var Frames = []FrameType{
	{ChannelSession, TypeWelcome, FromServer},
	{ChannelSession, TypeRefresh, FromClient},
	{ChannelSession, TypeRefreshed, FromServer},
	{AnyChannel, TypeError, FromServer},

	{ChannelChatRoom, TypeJoinRoom, FromClient},
	{ChannelChatRoom, TypeLeaveRoom, FromClient},
	{ChannelChatRoom, TypeSendMessage, FromClient},
	{ChannelChatRoom, TypeHistory, FromClient},
	{ChannelChatRoom, TypeResume, FromClient},
	{ChannelChatRoom, TypeGetMembers, FromClient},
	{ChannelChatRoom, TypeTyping, FromClient},
	{ChannelChatRoom, TypeStopTyping, FromClient},
	{ChannelChatRoom, TypeMarkRead, FromClient},
	{ChannelChatRoom, TypeEditMessage, FromClient},
	{ChannelChatRoom, TypeDeleteMessage, FromClient},
	{ChannelChatRoom, TypeReact, FromClient},

	{ChannelChatRoom, TypeMemberList, FromServer},
	{ChannelChatRoom, TypeJoinedRoom, FromServer},
	{ChannelChatRoom, TypeLeftRoom, FromServer},
	{ChannelChatRoom, TypeNewMessage, FromServer},
	{ChannelChatRoom, TypeMessageAccepted, FromServer},
	{ChannelChatRoom, TypeHistoryPage, FromServer},
	{ChannelChatRoom, TypeResumed, FromServer},
	{ChannelChatRoom, TypeTyping, FromServer},
	{ChannelChatRoom, TypeStopTyping, FromServer},
	{ChannelChatRoom, TypeReadMarker, FromServer},
	{ChannelChatRoom, TypeUnread, FromServer},
	{ChannelChatRoom, TypeMessageEdited, FromServer},
	{ChannelChatRoom, TypeMessageDeleted, FromServer},
	{ChannelChatRoom, TypeReaction, FromServer},

	{ChannelChat, TypeSubmitMessage, FromClient},
	{ChannelChat, TypeNewMessageReceived, FromServer},

	{ChannelPing, TypePing, FromServer},

	{ChannelPresence, TypeOnline, FromServer},
	{ChannelPresence, TypeOffline, FromServer},
}

// ClientTypes lists the frame types a client may send on channel, in the
// order of Frames: for the unknown_type errors that tell a client what it
// could have sent.
func ClientTypes(channel string) []string {
	var out []string
	for _, f := range Frames {
		if f.Dir == FromClient && f.Channel == channel {
			out = append(out, f.Type)
		}
	}
	return out
}
