package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestEnsureClusterForming: the refusals of a cluster that is still
// forming are tried again until the create succeeds, a refusal that will
// not pass by itself is returned at once, and when the caller's context
// ends the last refusal says why. The refusals are made here: a real
// cluster gives them only by chance, when three stores open at once on
// a fresh cluster (TestStreamLeadersSpread did, in one CI run).
func TestEnsureClusterForming(t *testing.T) {
	offline := &jetstream.APIError{Code: 400, ErrorCode: jsClusterNoPeers, Description: "no suitable peers for placement, peer offline"}
	unavailable := &jetstream.APIError{Code: 503, ErrorCode: jsClusterNotAvailable, Description: "JetStream system temporarily unavailable"}
	tooFew := &jetstream.APIError{Code: 400, ErrorCode: jsClusterNoPeers, Description: "no suitable peers for placement"}

	for _, refusal := range []error{offline, unavailable, fmt.Errorf("create stream: %w", offline)} {
		tries := 0
		err := ensure(context.Background(), func(context.Context) error {
			if tries++; tries < 3 {
				return refusal
			}
			return nil
		})
		if err != nil || tries != 3 {
			t.Fatalf("%v twice, then success: err %v after %d tries, want nil after 3", refusal, err, tries)
		}
	}

	tries := 0
	err := ensure(context.Background(), func(context.Context) error { tries++; return tooFew })
	if !errors.Is(err, tooFew) || tries != 1 {
		t.Fatalf("more replicas than servers: err %v after %d tries, want it at once", err, tries)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = ensure(ctx, func(context.Context) error { return offline })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "peer offline") {
		t.Fatalf("a peer offline until the deadline: %v, want the deadline and the last refusal", err)
	}
}
