package store

import (
	"context"
	"time"
)

// sleepCtx waits d, or until ctx ends (its error): the pause between the
// tries of a storage step that is worth repeating.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
