//go:build !unix

package bench

import (
	"context"
	"errors"
)

// RunFloor needs a Unix kernel's sockets and rusage.
func RunFloor(ctx context.Context, cfg FloorConfig, self string) (FloorResult, error) {
	return FloorResult{}, errors.New("bench: floor needs a Unix system")
}
