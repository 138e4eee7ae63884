package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/natterchat/natter/bench"
)

// runFloor measures the kernel's floor (bench.RunFloor). Run it pinned to
// the core the node runs on (taskset), with the reader on the core the
// load generator uses, so that it measures what the node's writes cost.
func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c bench.FloorConfig
	var asJSON bool
	fs := flag.NewFlagSet("natter-bench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Conns, "conns", 5000, "loopback sockets written in turn")
	fs.IntVar(&c.Burst, "burst", 100, "sockets one round writes to (a message's fan-out)")
	fs.Float64Var(&c.Rate, "rate", 40000, "writes per second")
	fs.IntVar(&c.Writes, "writes", 200000, "writes measured")
	fs.IntVar(&c.Size, "size", 150, "bytes per write")
	fs.IntVar(&c.ReaderCPU, "reader-cpu", -1, "pin the reading process to this CPU (Linux); -1: do not pin")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench floor:", err)
		return 1
	}
	res, err := bench.RunFloor(ctx, c, self)
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench floor:", err)
		return 1
	}
	if asJSON {
		err = res.WriteJSON(stdout)
	} else {
		err = res.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench floor:", err)
		return 1
	}
	return 0
}

// runFloorReader is the internal reading side of floor.
func runFloorReader(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "natter-bench floor-reader: want ADDR CONNS")
		return 2
	}
	n, err := strconv.Atoi(args[1])
	if err == nil {
		err = bench.RunFloorReader(ctx, args[0], n)
	}
	if err != nil {
		fmt.Fprintln(stderr, "natter-bench floor-reader:", err)
		return 1
	}
	return 0
}
