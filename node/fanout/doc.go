// Package fanout delivers chats to the devices connected to this node.
//
// It keeps the node's local view (the registry: users with devices here,
// their devices, and the chats those users are members of), subscribes
// the node to a chat's live subject while the chat has a local member,
// and runs the dispatcher loops that deliver each chat as one gap-free
// ordered sequence: the stream's RePublish copies, repaired from the
// store when a sequence is missing, and chat events, both encoded once and
// queued to every local recipient. New devices and resuming devices are
// caught up from the store on the same loops, so live delivery never
// overtakes a replay.
//
// It does not know what a frame means: stored messages are rendered by
// Config.Render, and chat events (PublishEvent) carry an already-encoded
// client frame and the user whose devices skip it. It is not the
// connection layer (wsconn), not the protocol (session, chat) and not the
// cluster's presence (presence).
//
// # Ownership and lock order
//
// Each struct's fields are written only by the file that defines it:
// device.go (Device), user.go (User), registry.go (the shards and
// localChat), dispatch.go (the dispatcher loop's state).
//
// A registry user shard's lock before User.mu before Device.mu (a chat
// shard's lock is taken alone); dispatcher.mu and Recent.mu are leaves.
// No lock is held across NATS or store calls. Device.mu is held while
// queueing to the device's connection (Release queues the frames its
// hold kept back under it, so that none sent meanwhile overtakes them):
// wsconn.Conn.Send never blocks and calls nothing back. Callers that
// hold a lock of their own around Device methods (the session's device
// lock) take it before Device.mu.
package fanout
