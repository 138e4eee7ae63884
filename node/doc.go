// Package node is one natter node: it accepts connections, upgrades
// WebSockets and serves the HTTP API, health checks, metrics and the
// browser page on one port, and wires the node's parts together.
//
// A Node is built by New (which starts or connects NATS but listens on
// nothing), serves with Serve or Handler, and ends with Shutdown, which
// drains every WebSocket itself with 1001.
//
// The parts live in sub-packages with one-way imports (docs/architecture.md):
// fanout (the local registry and ordered delivery), presence (the
// cluster's presence view), chat (the chat operations), session (the
// WebSocket protocol) and httpapi (the HTTP API). This package holds what
// is the node's own: configuration, connecting NATS (the embedded
// server's options and the security of its links are node/natslink's)
// and opening the store, accepting
// connections, terminating TLS (serve.go; the certificate and its
// reloads are node/tlsserve's) and upgrading (upgrade.go), the
// node-wide event loop (events.go), readiness, metrics, memory around
// connection storms, and the drain.
//
// Lock order: Node.mu is a leaf; the sub-packages write down their own.
// No lock is held across NATS or store calls.
package node
