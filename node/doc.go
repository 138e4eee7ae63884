// Package node is one natter node: it terminates user devices' WebSocket
// connections, serves the HTTP API and the browser page, and connects the
// devices to the cluster through NATS (fan-out) and JetStream (storage,
// through package store).
//
// A Node is built by New (which starts or connects NATS but listens on
// nothing), serves with Serve or Handler, and ends with Shutdown, which
// closes every WebSocket itself with 1001.
//
// The pieces, one file each: serve.go (accept loop and the split between
// WebSocket upgrades and HTTP), upgrade.go (handshake and authentication),
// device.go (one connection's request runner), registry.go (local users,
// devices and chats), dispatch.go (fan-out from the stream's RePublish
// copies, gap repair, resume), events.go (membership, presence and
// broadcast events between nodes), ops.go (chat operations shared by the
// WebSocket protocol and the HTTP API), session.go (protocol frames),
// api*.go (HTTP API).
//
// Lock order: registry shard locks (users before chats) before
// localUser.mu before device.mu. No lock is held across NATS or store
// calls, and none while writing to a connection (wsconn.Conn.Send never
// blocks).
package node
