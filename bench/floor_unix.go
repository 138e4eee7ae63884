//go:build unix

package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// RunFloor measures the floor. self is the natter-bench binary: the
// reader runs as `self floor-reader ADDR CONNS`.
func RunFloor(ctx context.Context, cfg FloorConfig, self string) (FloorResult, error) {
	cfg.setDefaults()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return FloorResult{}, fmt.Errorf("bench: floor: listen: %w", err)
	}
	defer l.Close()
	reader := exec.CommandContext(ctx, self, "floor-reader", l.Addr().String(), strconv.Itoa(cfg.Conns))
	reader.Env = append(os.Environ(), "GOMAXPROCS=1")
	reader.Stderr = os.Stderr
	if err := reader.Start(); err != nil {
		return FloorResult{}, fmt.Errorf("bench: floor: start reader: %w", err)
	}
	defer func() { _ = reader.Process.Kill(); _ = reader.Wait() }()
	if cfg.ReaderCPU >= 0 {
		if err := pinProcess(reader.Process.Pid, cfg.ReaderCPU); err != nil {
			return FloorResult{}, fmt.Errorf("bench: floor: pin reader: %w", err)
		}
	}
	fds, err := acceptRaw(l, cfg.Conns)
	if err != nil {
		return FloorResult{}, err
	}
	defer func() {
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
	}()
	return writeFloor(ctx, cfg, fds)
}

// acceptRaw accepts n connections and returns non-blocking duplicates of
// their descriptors, written with plain syscalls.
func acceptRaw(l net.Listener, n int) ([]int, error) {
	fds := make([]int, 0, n)
	for range n {
		c, err := l.Accept()
		if err != nil {
			return fds, fmt.Errorf("bench: floor: accept: %w", err)
		}
		f, err := c.(*net.TCPConn).File()
		c.Close()
		if err != nil {
			return fds, fmt.Errorf("bench: floor: socket: %w", err)
		}
		fd, err := syscall.Dup(int(f.Fd()))
		f.Close()
		if err == nil {
			err = syscall.SetNonblock(fd, true)
		}
		if err != nil {
			return fds, fmt.Errorf("bench: floor: socket: %w", err)
		}
		fds = append(fds, fd)
	}
	return fds, nil
}

// writeFloor writes in bursts at the configured rate and measures the
// process's CPU.
func writeFloor(ctx context.Context, cfg FloorConfig, fds []int) (FloorResult, error) {
	msg := make([]byte, cfg.Size)
	res := FloorResult{Conns: cfg.Conns, Size: cfg.Size}
	time.Sleep(200 * time.Millisecond) // the reader's sockets settle
	interval := time.Duration(float64(time.Second) * float64(cfg.Burst) / cfg.Rate)
	cpu0, err := processCPU()
	if err != nil {
		return res, err
	}
	start := time.Now()
	next := 0
	for round := 0; res.Writes < cfg.Writes && ctx.Err() == nil; round++ {
		if d := time.Until(start.Add(time.Duration(round) * interval)); d > 0 {
			time.Sleep(d)
		}
		for range cfg.Burst {
			_, err := syscall.Write(fds[next], msg)
			switch {
			case errors.Is(err, syscall.EAGAIN):
				res.Blocked++
			case err != nil:
				return res, fmt.Errorf("bench: floor: write: %w", err)
			}
			res.Writes++
			next = (next + 1) % len(fds)
		}
	}
	wall := time.Since(start)
	cpu1, err := processCPU()
	if err != nil {
		return res, err
	}
	used := cpu1 - cpu0
	res.CPUPerWrite = float64(used.Nanoseconds()) / 1000 / float64(res.Writes)
	res.CorePercent = 100 * float64(used) / float64(wall)
	return res, ctx.Err()
}

// processCPU is the process's user and system CPU so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
