package store_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// TestConformanceJetStream: the production store keeps the contract.
func TestConformanceJetStream(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return newEnv(t).st })
}

// TestConformanceJetStreamThreeStreams: the contract holds with chats
// spread over three message streams.
func TestConformanceJetStreamThreeStreams(t *testing.T) {
	storetest.RunConformance(t, func(t *testing.T) store.Store { return newEnvWith(t, store.Config{Streams: 3}).st })
}

// TestConformanceMemory: Memory keeps the same contract, so that tests of
// the node on Memory hold for JetStream too.
func TestConformanceMemory(t *testing.T) {
	storetest.RunConformance(t, func(*testing.T) store.Store { return store.NewMemory(store.MemoryConfig{}) })
}

// TestLiveConformanceJetStream: CHAT_MSGS's RePublish copies are what the
// fan-out expects.
func TestLiveConformanceJetStream(t *testing.T) {
	storetest.RunLiveConformance(t, func(t *testing.T) (store.Store, *nats.Conn) {
		e := newEnv(t)
		return e.st, e.nc
	})
}

// TestLiveConformanceJetStreamThreeStreams: every stream's RePublish
// copies go to the same live subjects.
func TestLiveConformanceJetStreamThreeStreams(t *testing.T) {
	storetest.RunLiveConformance(t, func(t *testing.T) (store.Store, *nats.Conn) {
		e := newEnvWith(t, store.Config{Streams: 3})
		return e.st, e.nc
	})
}

// TestLiveConformanceMemory: Memory's live copies are too, sent over core
// NATS on one connection and received on another, as between nodes.
func TestLiveConformanceMemory(t *testing.T) {
	storetest.RunLiveConformance(t, func(t *testing.T) (store.Store, *nats.Conn) {
		srv := storetest.RunServer(t)
		st := store.NewMemory(store.MemoryConfig{Live: storetest.Connect(t, srv)})
		return st, storetest.Connect(t, srv)
	})
}
