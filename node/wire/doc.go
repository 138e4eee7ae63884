// Package wire holds natter's WebSocket protocol: the seed's JSON envelope,
// the channels and frame types, the contents of every frame and the stable
// error codes. docs/protocol.md is its prose twin.
//
// It is shared by the node and by clients (the bench tool, tests); it does
// no I/O and knows nothing of NATS or storage. The hand-written JSON of
// its busiest frames also serves the node's busiest messages between
// nodes, through ObjectWriter and ObjectReader.
package wire
