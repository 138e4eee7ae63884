package store_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

func TestConformanceJetStream(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return newEnv(t).st })
}

func TestConformanceMemory(t *testing.T) {
	storetest.RunConformance(t, func(*testing.T) store.Store { return store.NewMemory(store.MemoryConfig{}) })
}

func TestLiveConformanceJetStream(t *testing.T) {
	storetest.RunLiveConformance(t, func(t *testing.T) (store.Store, *nats.Conn) {
		e := newEnv(t)
		return e.st, e.nc
	})
}

// TestLiveConformanceMemory sends the live copies over a core NATS
// connection and receives them on another.
func TestLiveConformanceMemory(t *testing.T) {
	storetest.RunLiveConformance(t, func(t *testing.T) (store.Store, *nats.Conn) {
		srv := storetest.RunServer(t)
		st := store.NewMemory(store.MemoryConfig{Live: storetest.Connect(t, srv)})
		return st, storetest.Connect(t, srv)
	})
}
