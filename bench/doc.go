// Package bench is natter's load generator: it opens many WebSocket
// connections to one or more nodes, drives a scenario (connect, idle,
// rooms, direct, broadcast, history) bounded by count, rate and duration,
// and accounts for every message exactly: each one carries its sender, a
// counter and its send time, so the tool knows every expected delivery and
// reports lost, duplicated and out-of-order ones next to HdrHistogram
// latencies, as a human table, JSON or a self-contained HTML page.
//
// A run is planned once (plan.go) from the flags and a seed; the
// coordinator (Run) splits the connections over workers, either in this
// process or as child processes of the same binary speaking JSON lines
// over stdin/stdout (worker.go), so that one run can exceed a process's
// open-files limit and the ephemeral ports of one loopback address pair.
//
// It is a client of the wire protocol only (node/wire); it never imports
// the node, and it only ever targets the URLs it is given.
package bench
