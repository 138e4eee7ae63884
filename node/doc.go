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
// lifecycle.go (a device's attach and cleanup), device.go (one
// connection's request runner), registry.go (local users, devices and
// chats), dispatch.go (fan-out from the stream's RePublish copies, gap
// repair, resume), events.go (membership and broadcast events between
// nodes), presence.go (the cluster's presence view), ops.go (chat
// operations shared by the WebSocket protocol and the HTTP API),
// session.go (protocol frames), api*.go (HTTP API), readiness.go,
// metrics.go, embedded.go (the embedded NATS server).
//
// Lock order: a registry user shard's lock before localUser.mu before
// device.mu (a chat shard's lock is taken alone); presenceView.mu before
// recentMemberships.mu; presenceView.share and chatChanged take registry
// locks before, never under, presenceView.mu. Node.mu, Node.cleanMu,
// dispatcher.mu, recentMemberships.mu and logLimiter.mu are leaves:
// nothing else is locked while they are held. No lock is held across NATS
// or store calls, and none while writing to a connection
// (wsconn.Conn.Send never blocks).
package node
