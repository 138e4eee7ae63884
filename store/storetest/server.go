// Package storetest runs real, in-process NATS servers with JetStream for
// tests of package store and of its users (the node), and holds the
// conformance suite every store.Store implementation passes
// (RunConformance, RunLiveConformance). It is test support only: nothing
// in a production binary imports it.
package storetest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// RunServer starts a NATS server with JetStream on a random 127.0.0.1 port
// with its store in a fresh t.TempDir(), waits until it accepts clients and
// shuts it down when the test ends.
func RunServer(t testing.TB) *server.Server {
	t.Helper()
	return RunServerDir(t, t.TempDir())
}

// RunServerDir is RunServer with an explicit JetStream store directory, so a
// test can stop a server and start a new one on the same data.
func RunServerDir(t testing.TB, storeDir string) *server.Server {
	t.Helper()
	return RunServerWith(t, storeDir, nil)
}

// RunServerWith is RunServerDir with the options adjusted by mod before
// the server starts (authentication, TLS); mod may be nil.
func RunServerWith(t testing.TB, storeDir string, mod func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      -1,
		NoLog:     true,
		NoSigs:    true,
		JetStream: true,
		StoreDir:  storeDir,
	}
	if mod != nil {
		mod(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("storetest: new server: %v", err)
	}
	go s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("storetest: server not ready")
	}
	return s
}

// Connect opens a client connection to s that is closed when the test
// ends. It never gives up reconnecting, like the node's own connection, so
// tests that restart a server on the same port see realistic behaviour.
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("storetest: connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}
