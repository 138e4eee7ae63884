// Package subjects is the only place where natter builds, parses and
// validates NATS subjects, stream and bucket names and KV keys.
//
// Every id that goes into a subject or key is a single subject token made of
// [A-Za-z0-9_-]; anything else is rejected at the edge with ValidID. User
// data (user names, room names) never goes into a subject: it is encoded
// with NameKey before it becomes part of a KV key.
//
// It is not the place for the meaning of messages on those subjects; that
// lives with their publishers and subscribers, named in each doc comment.
package subjects

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// MaxIDLen is the longest id accepted in a subject or key.
const MaxIDLen = 64

// ValidID reports whether s can be used as a single subject token: 1 to
// MaxIDLen characters of [A-Za-z0-9_-].
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Stream and bucket names.
const (
	// StreamMessages stores every chat message on ChatMsg subjects when
	// the cluster has one message stream; with K of them it is the
	// prefix of their names (MessageStream).
	StreamMessages = "CHAT_MSGS"

	// BucketUsers maps UserKey -> user record.
	BucketUsers = "natter_users"
	// BucketUserNames maps NameKey(normalized name) -> user id; Create makes names unique.
	BucketUserNames = "natter_user_names"
	// BucketChats maps ChatKey -> chat record.
	BucketChats = "natter_chats"
	// BucketRoomNames maps NameKey(public room name) -> chat id.
	BucketRoomNames = "natter_room_names"
	// BucketMembers holds every membership twice: under MemberKey and UserChatKey.
	BucketMembers = "natter_members"
	// BucketMessageStates maps MessageStateKey -> the state of an edited,
	// deleted or reacted-to message, and DeletedKey -> a deletion marker.
	BucketMessageStates = "natter_msg_states"

	// BucketCluster holds records about the cluster as a whole: the
	// number of message streams it was created with.
	BucketCluster = "natter_cluster"

	// StreamAuthLimits holds the cluster's login and registration
	// counters, one counter per AuthCount subject.
	StreamAuthLimits = "AUTH_LIMITS"
)

// ChatMsg is the subject a node publishes an accepted chat message to when
// the cluster has one message stream; the CHAT_MSGS stream stores it.
// Publisher: the node that accepted the send.
func ChatMsg(chatID string) string { return "chat." + chatID + ".msg" }

// ChatMsgWildcard is the CHAT_MSGS stream's subject filter.
const ChatMsgWildcard = "chat.*.msg"

// MessageStream names partition p of a cluster's k message streams:
// StreamMessages when k is 1 (the name from before partitions, so that
// existing state keeps working), CHAT_MSGS_<p> otherwise.
func MessageStream(p, k int) string {
	if k <= 1 {
		return StreamMessages
	}
	return StreamMessages + "_" + strconv.Itoa(p)
}

// ChatMsgIn is the subject a message of chatID, in partition p of k, is
// published to: ChatMsg when k is 1, chat.<p>.<chatID>.msg otherwise, so
// that every stream captures a subject set of its own.
func ChatMsgIn(p, k int, chatID string) string {
	if k <= 1 {
		return ChatMsg(chatID)
	}
	return "chat." + strconv.Itoa(p) + "." + chatID + ".msg"
}

// ChatMsgFilter is the subject filter of partition p of k message
// streams, and its RePublish source: its only wildcard is the chat id, so
// RePublishDestination maps every partition to the same LiveChat
// subjects.
func ChatMsgFilter(p, k int) string {
	if k <= 1 {
		return ChatMsgWildcard
	}
	return "chat." + strconv.Itoa(p) + ".*.msg"
}

// ParseChatMsg returns the chat id of a ChatMsg or ChatMsgIn subject.
func ParseChatMsg(subject string) (chatID string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "chat.")
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, ".msg")
	if !ok {
		return "", false
	}
	if part, id, two := strings.Cut(rest, "."); two {
		if _, err := strconv.ParseUint(part, 10, 31); err != nil {
			return "", false
		}
		rest = id
	}
	if !ValidID(rest) {
		return "", false
	}
	return rest, true
}

// LiveChat is the subject CHAT_MSGS (every message stream) republishes every stored message of a
// chat to, and that carries the chat's events (unstored notices: joins,
// leaves, typing; published by any node, node/fanout/event.go), so that
// both reach exactly the nodes that deliver the chat. Subscribers: every
// node that holds a device of a member.
func LiveChat(chatID string) string { return "live.chat." + chatID }

// LiveChatWildcard matches every LiveChat subject; it is the RePublish
// destination pattern's shape.
const LiveChatWildcard = "live.chat.*"

// RePublishDestination is the stream RePublish destination template that
// maps ChatMsg subjects to LiveChat subjects.
const RePublishDestination = "live.chat.{{wildcard(1)}}"

// ParseLiveChat returns the chat id of a LiveChat subject.
func ParseLiveChat(subject string) (chatID string, ok bool) {
	return suffix(subject, "live.chat.")
}

// UserEvents carries membership changes and direct notices for a user.
// Publisher: the node that changed the membership. Subscribers: nodes that
// hold a device of the user (through UserEventsWildcard).
func UserEvents(userID string) string { return "user." + userID + ".evt" }

// UserEventsWildcard matches every UserEvents subject.
const UserEventsWildcard = "user.*.evt"

// ParseUserEvents returns the user id of a UserEvents subject.
func ParseUserEvents(subject string) (userID string, ok bool) {
	return middle(subject, "user.", ".evt")
}

// Broadcast carries server-wide frames (the seeds' "chat" and "ping"
// channels). Publisher: any node. Subscribers: every node.
const Broadcast = "natter.broadcast"

// NodeRequest is a request directed at one node (presence queries, drain).
// Publisher: any node or operator tool. Subscriber: that node.
func NodeRequest(nodeID, op string) string { return "natter.node." + nodeID + "." + op }

// NodeWildcard matches every request directed at nodeID.
func NodeWildcard(nodeID string) string { return "natter.node." + nodeID + ".>" }

// ParseNodeRequest returns the node id and operation of a NodeRequest subject.
func ParseNodeRequest(subject string) (nodeID, op string, ok bool) {
	rest, ok := strings.CutPrefix(subject, "natter.node.")
	if !ok {
		return "", "", false
	}
	nodeID, op, ok = strings.Cut(rest, ".")
	if !ok || !ValidID(nodeID) || !ValidID(op) {
		return "", "", false
	}
	return nodeID, op, true
}

// AuthCount is the subject of one login or registration counter in
// StreamAuthLimits: rule names what is counted (failed logins of an
// account, ...), key whom (a digest of the account name, a source
// address), both single tokens. Publisher: the node that counts.
func AuthCount(rule, key string) string { return "natter.authlimit." + rule + "." + key }

// AuthCountWildcard is the StreamAuthLimits subject filter.
const AuthCountWildcard = "natter.authlimit.*.*"

// AuthBlocked announces that a counter reached its limit, so that every
// node refuses the account or address without asking the stream.
// Publisher: the node whose count reached it. Subscribers: every node.
const AuthBlocked = "natter.authblocked"

// UserKey is the BucketUsers key of a user.
func UserKey(userID string) string { return userID }

// ChatKey is the BucketChats key of a chat.
func ChatKey(chatID string) string { return chatID }

// NameKey encodes user data (a user or room name) as a KV key: base64url
// without padding, which uses only key-safe characters.
func NameKey(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

// MemberKey is the BucketMembers key listing userID among chatID's members.
func MemberKey(chatID, userID string) string { return "chat." + chatID + "." + userID }

// ChatMembersFilter matches every MemberKey of chatID.
func ChatMembersFilter(chatID string) string { return "chat." + chatID + ".*" }

// ParseMemberKey returns the chat and user of a MemberKey.
func ParseMemberKey(key string) (chatID, userID string, ok bool) {
	return pair(key, "chat.")
}

// UserChatKey is the BucketMembers key listing chatID among userID's chats.
func UserChatKey(userID, chatID string) string { return "user." + userID + "." + chatID }

// UserChatsFilter matches every UserChatKey of userID.
func UserChatsFilter(userID string) string { return "user." + userID + ".*" }

// ParseUserChatKey returns the user and chat of a UserChatKey.
func ParseUserChatKey(key string) (userID, chatID string, ok bool) {
	return pair(key, "user.")
}

// middle returns the single valid token between prefix and suffix.
func middle(s, prefix, suffix string) (string, bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", false
	}
	tok, ok := strings.CutSuffix(rest, suffix)
	if !ok || !ValidID(tok) {
		return "", false
	}
	return tok, true
}

// suffix returns the single valid token after prefix.
func suffix(s, prefix string) (string, bool) {
	tok, ok := strings.CutPrefix(s, prefix)
	if !ok || !ValidID(tok) {
		return "", false
	}
	return tok, true
}

// pair returns the two valid tokens after prefix.
func pair(s, prefix string) (a, b string, ok bool) {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return "", "", false
	}
	a, b, ok = strings.Cut(rest, ".")
	if !ok || !ValidID(a) || !ValidID(b) {
		return "", "", false
	}
	return a, b, true
}

// Presence carries device online/offline transitions of a user on a node,
// numbered per node. Publisher: the node where a device connected or went.
// Subscribers: every node; each keeps only the users it shares a chat
// with.
const Presence = "natter.presence"

// Heartbeat carries every node's periodic liveness beat with its device
// count and the number of its last presence event. Publisher: every node.
// Subscribers: every node (dead-node detection and presence repair).
const Heartbeat = "natter.heartbeat"

// PresenceSnapshotPrefix starts PresenceSnapshot.
const PresenceSnapshotPrefix = "natter.presence.chat."

// PresenceSnapshotWildcard matches every chat's PresenceSnapshot.
const PresenceSnapshotWildcard = PresenceSnapshotPrefix + "*"

// PresenceSnapshot is the request subject for the online devices of
// chatID's members. Requester: a node that starts delivering the chat.
// Responders: every node, each with its own devices in the chat.
func PresenceSnapshot(chatID string) string { return PresenceSnapshotPrefix + chatID }

// NodeOpPresence is the NodeRequest operation that answers a node's
// current devices.
const NodeOpPresence = "presence"

// MessageStateKey is the BucketMessageStates key of a message's state.
func MessageStateKey(chatID string, seq uint64) string {
	return chatID + "." + strconv.FormatUint(seq, 10)
}

// DeletedKey is the BucketMessageStates key marking a message deleted;
// DeletedWildcard(chatID) lists a chat's.
func DeletedKey(chatID string, seq uint64) string {
	return chatID + ".d." + strconv.FormatUint(seq, 10)
}

// DeletedWildcard matches every DeletedKey of a chat.
func DeletedWildcard(chatID string) string { return chatID + ".d.*" }

// ParseDeletedKey returns the message sequence of a DeletedKey.
func ParseDeletedKey(key string) (seq uint64, ok bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return 0, false
	}
	seq, err := strconv.ParseUint(key[i+1:], 10, 64)
	return seq, err == nil && seq > 0
}
