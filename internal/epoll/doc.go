// Package epoll makes the epoll instances of the node's connection
// layer (node/wsconn) and of the load generator (bench): instances that
// wait in the Go runtime's own netpoller rather than in a blocking
// epoll_wait. A goroutine blocked in a raw epoll_wait holds its thread
// and, until the runtime's monitor retakes it (up to 10 ms when the
// process was idle), the processor: with GOMAXPROCS=1 every other
// goroutine waits meanwhile. An epoll descriptor is itself pollable
// (readable while it has events), so its owner waits on File in the
// netpoller and harvests with a zero timeout. Linux only.
package epoll
