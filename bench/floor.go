package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
)

// FloorConfig is a measurement of the kernel's floor: the CPU one small
// write(2) to a loopback TCP socket costs the writing process, when the
// sockets are read by another process (on another core, as the load
// generator reads the node's). A node's fan-out cannot cost less per
// delivery than this, so benchmarks give the node's CPU per delivery as a
// multiple of the floor measured in the same session.
type FloorConfig struct {
	// Conns is the number of sockets written in turn; the floor grows
	// with it (cache misses). Default 5000, the rooms scenario's shape.
	Conns int
	// Burst is how many sockets one round writes to, one write each, as a
	// message's fan-out does. Default 100.
	Burst int
	// Rate is writes per second, in bursts. Default 40000.
	Rate float64
	// Writes is how many writes are measured. Default 200000.
	Writes int
	// Size is the bytes of each write. Default 150, about a NewMessage.
	Size int
	// ReaderCPU pins the reading process to this CPU (Linux); -1: the
	// reader keeps the writer's affinity.
	ReaderCPU int
}

// FloorResult is what a floor measurement found.
type FloorResult struct {
	Writes      int     `json:"writes"`
	Conns       int     `json:"conns"`
	Size        int     `json:"size"`
	CPUPerWrite float64 `json:"cpuPerWriteMicros"` // µs of the writer's CPU per write
	CorePercent float64 `json:"corePercent"`       // the writer's CPU over the wall time
	Blocked     int     `json:"blocked"`           // writes that found a full socket buffer
}

func (c *FloorConfig) setDefaults() {
	if c.Conns <= 0 {
		c.Conns = 5000
	}
	if c.Burst <= 0 {
		c.Burst = 100
	}
	c.Burst = min(c.Burst, c.Conns)
	if c.Rate <= 0 {
		c.Rate = 40000
	}
	if c.Writes <= 0 {
		c.Writes = 200000
	}
	if c.Size <= 0 {
		c.Size = 150
	}
}

// RunFloorReader is the reading side of a floor measurement: it opens
// conns connections to addr and reads them until killed.
func RunFloorReader(ctx context.Context, addr string, conns int) error {
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("bench: floor reader: %w", err)
		}
		go func() { _, _ = io.Copy(io.Discard, c) }()
	}
	<-ctx.Done()
	return nil
}

// WriteTable prints the floor.
func (r FloorResult) WriteTable(w io.Writer) error {
	_, err := fmt.Fprintf(w, "floor      %d writes of %d B over %d loopback sockets: %.2f µs of CPU per write (%.0f%% of a core), %d found a full buffer\n",
		r.Writes, r.Size, r.Conns, r.CPUPerWrite, r.CorePercent, r.Blocked)
	return err
}

// WriteJSON prints the floor as indented JSON.
func (r FloorResult) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}
