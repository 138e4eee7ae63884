package store_test

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// env is one embedded server, a client connection and a store on it.
type env struct {
	srv *server.Server
	nc  *nats.Conn
	st  *store.JetStream
}

func newEnv(t testing.TB) env {
	t.Helper()
	return newEnvWith(t, store.Config{})
}

// newEnvWith is newEnv with the store opened with cfg.
func newEnvWith(t testing.TB, cfg store.Config) env {
	t.Helper()
	srv := storetest.RunServer(t)
	nc := storetest.Connect(t, srv)
	st, err := store.Open(storetest.Ctx(t), nc, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return env{srv: srv, nc: nc, st: st}
}
