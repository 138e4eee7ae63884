package store_test

import (
	"context"
	"testing"
	"time"

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
	srv := storetest.RunServer(t)
	nc := storetest.Connect(t, srv)
	st, err := store.Open(testCtx(t), nc, store.Config{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return env{srv: srv, nc: nc, st: st}
}

// testCtx is a context bounded well below the test timeout.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
