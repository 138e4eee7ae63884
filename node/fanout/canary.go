package fanout

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/natterchat/natter/subjects"
)

// canarySubject is the subject of loop k's readiness canary.
func (h *Hub) canarySubject(k int) string {
	return subjects.NodeRequest(h.cfg.NodeID, "canary"+strconv.Itoa(k))
}

// CheckLoops sends a canary through NATS to every dispatcher loop, behind
// the live messages it delivers, and waits until each loop has handled
// it: a node whose delivery path is stuck must not report ready. It
// returns which loop did not answer before ctx ended.
func (h *Hub) CheckLoops(ctx context.Context) error {
	seq := h.canarySeq.Add(1)
	data := []byte(strconv.FormatUint(seq, 10))
	for k := range h.loops {
		if err := h.cfg.NC.Publish(h.canarySubject(k), data); err != nil {
			return fmt.Errorf("canary: %w", err)
		}
	}
	for k, d := range h.loops {
		for d.canary.Load() < seq {
			select {
			case <-ctx.Done():
				return fmt.Errorf("fan-out loop %d did not deliver the canary: %w", k, ctx.Err())
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return nil
}
