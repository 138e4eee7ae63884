package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
)

// TestMain lets the test binary be its own floor reader and worker
// process, as natter-bench is.
func TestMain(m *testing.M) {
	if len(os.Args) == 4 && os.Args[1] == "floor-reader" {
		n, _ := strconv.Atoi(os.Args[3])
		if err := RunFloorReader(context.Background(), os.Args[2], n); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) == 2 && os.Args[1] == "worker" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	if self, err := os.Executable(); err == nil {
		WorkerCommand = []string{self, "worker"}
	}
	os.Exit(m.Run())
}
