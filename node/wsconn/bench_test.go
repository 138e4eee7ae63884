package wsconn

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func BenchmarkNewTextFrame(b *testing.B) {
	for _, n := range []int{16, 200, 4096} {
		p := make([]byte, n)
		b.Run(fmt.Sprint("len=", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				NewTextFrame(p)
			}
		})
	}
}

// BenchmarkFanout sends one shared frame to N connections per op, with a
// reader draining every client; the timer stops after all queues drained.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxOutboundBytes = 64 << 20
			ts := startServer(b, cfg, nil)
			f := NewTextFrame(make([]byte, 128))
			var received atomic.Int64 // bytes, all clients
			conns := make([]*Conn, n)
			for i := range conns {
				c := ts.dial(b)
				conns[i] = c.sc
				go func() { // allocation-free drain
					buf := make([]byte, 64<<10)
					for {
						k, err := c.Conn.Read(buf)
						received.Add(int64(k))
						if err != nil {
							return
						}
					}
				}()
			}
			want := int64(0)
			wait := func() {
				for received.Load() < want {
					time.Sleep(50 * time.Microsecond)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, c := range conns {
					if err := c.Send(f); err != nil {
						b.Fatal(err)
					}
				}
				want += int64(n * f.Len())
				if i%64 == 63 {
					wait() // bound the queues
				}
			}
			wait()
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

// BenchmarkIdleConnHeap reports the Go heap the Server adds per idle
// attached connection, on top of the handshaken net.TCPConn.
func BenchmarkIdleConnHeap(b *testing.B) {
	const n = 2000
	srv, ln := benchServer(b)
	var server, clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range n {
		acc := make(chan net.Conn)
		go func() {
			nc, _ := ln.Accept()
			ws.Upgrade(nc)
			acc <- nc
		}()
		nc, _, _, err := ws.Dial(context.Background(), "ws://"+ln.Addr().String()+"/")
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, nc)
		server = append(server, <-acc)
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, nc := range server {
		if _, err := srv.Attach(nc, nil); err != nil {
			b.Fatal(err)
		}
	}
	after := heap()
	perConn := float64(int64(after)-int64(before)) / n
	b.Logf("heap per idle attached conn: %.0f bytes (%d conns, goroutines %d)", perConn, n, runtime.NumGoroutine())
	for b.Loop() {
	}
	b.ReportMetric(perConn, "heap-B/conn")
	runtime.KeepAlive(server)
}
