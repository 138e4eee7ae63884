// Package session is natter's WebSocket protocol on a node: it takes an
// upgraded connection (Attach), sets up its device (Welcome, the user's
// chats, catch-up, presence), runs the client's frames in order on a
// runner that exists only while frames wait, rate-limits them, and
// answers each frame type with its own processX handler. When the
// connection ends it cleans the device up: presence, the node's interest
// in its chats, a guest's memberships.
//
// It is the wsconn.Handler of the node's connection layer. It is not the
// HTTP upgrade (package node), not the chat rules (chat), not delivery
// (fanout) and not HTTP (httpapi).
//
// # Ownership and lock order
//
// device.go owns the device's request state (queue, runner, rate limit,
// registration); fanout.Device, embedded in it, owns the delivery state.
// device.mu is taken before fanout's Device lock (SetPresence runs under
// it), never the other way round. Server.cleanMu is a leaf.
package session
