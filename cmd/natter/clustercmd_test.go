//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testport"
)

// ctrlCDrainDelay is the nodes' --drain-delay in TestClusterCommandCtrlC:
// a node waits this long after its signal before it closes its devices,
// so that a second signal that kills it mid-drain comes before the 1001
// (the parent's stop follows its own signal at once).
const ctrlCDrainDelay = time.Second

// TestClusterCommandCtrlC runs `natter cluster -n 3` as a terminal runs a
// foreground command, in a process group of its own, connects a guest to
// node1 and sends SIGINT to the whole group, as Ctrl-C does. Every node
// must drain exactly once and to its end: the guest is closed with 1001,
// not dropped; each node logs one drain and its stop; every node process
// and the command itself exit, the command with status 0.
func TestClusterCommandCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts natter cluster with three node processes")
	}
	c := startClusterCmd(t, 3, "--drain-delay", ctrlCDrainDelay.String())
	guest := watchWS(t, "guest@node1", fmt.Sprintf("ws://127.0.0.1:%d/ws", c.port))
	if err := syscall.Kill(-c.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatalf("SIGINT to the process group of natter cluster: %v", err)
	}
	select {
	case <-guest.c.Done():
		if code := guest.c.CloseCode(); code != ws.StatusGoingAway {
			t.Errorf("the guest on node1 was closed with %d (0: no close frame), want 1001", code)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("the guest on node1 is still connected 30s after Ctrl-C")
	}
	select {
	case <-c.exited:
		if err := c.waitErr; err != nil {
			t.Errorf("natter cluster exited with %v after Ctrl-C, want status 0", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("natter cluster still runs a minute after Ctrl-C")
	}
	for _, pid := range c.nodes {
		if alive(pid) {
			t.Errorf("node process %d outlived natter cluster", pid)
		}
	}
	out := c.log()
	if n := strings.Count(out, "signal received; draining"); n != 3 {
		t.Errorf("%d drains logged, want one per node (3)", n)
	}
	if n := strings.Count(out, "msg=stopped"); n != 3 {
		t.Errorf("%d nodes logged their stop, want 3: a node was killed mid-drain", n)
	}
	if t.Failed() {
		t.Logf("output of natter cluster:\n%s", out)
	}
}

// clusterCmd is a running `natter cluster` and its node processes.
type clusterCmd struct {
	cmd     *exec.Cmd
	port    int   // HTTP port of node1; node i listens on port+i-1
	nodes   []int // the node processes' ids
	logPath string
	exited  chan struct{}
	waitErr error // cmd.Wait's answer, set before exited closes
}

// startClusterCmd starts `natter cluster -n n` with guests allowed and
// nodeFlags after --, in a process group of its own as a shell starts a
// foreground job, and returns once every node is ready. Whatever the test
// leaves running is killed when it ends.
func startClusterCmd(t *testing.T, n int, nodeFlags ...string) *clusterCmd {
	t.Helper()
	starts := testport.Runs(t, 2, n)
	c := &clusterCmd{port: starts[0], logPath: filepath.Join(t.TempDir(), "cluster.log"), exited: make(chan struct{})}
	logf, err := os.Create(c.logPath)
	if err != nil {
		t.Fatalf("create the log of natter cluster: %v", err)
	}
	args := append([]string{"cluster", "-n", strconv.Itoa(n), "-port", strconv.Itoa(starts[0]),
		"-route-port", strconv.Itoa(starts[1]), "-data-dir", t.TempDir(), "-allow-guests", "--",
		"--log-level", "info"}, nodeFlags...)
	c.cmd = exec.Command(natterBin, args...)
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start natter cluster: %v", err)
	}
	go func() { c.waitErr = c.cmd.Wait(); logf.Close(); close(c.exited) }()
	t.Cleanup(c.kill)
	for i := range n {
		c.waitReady(t, c.port+i)
	}
	c.nodes = childPIDs(t, c.cmd.Process.Pid)
	if len(c.nodes) != n {
		t.Fatalf("natter cluster has %d child processes %v, want %d", len(c.nodes), c.nodes, n)
	}
	return c
}

// waitReady polls a node's /readyz until 200, for up to two minutes (a
// fresh cluster elects its JetStream leaders first).
func (c *clusterCmd) waitReady(t *testing.T, port int) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			t.Fatalf("natter cluster exited while starting:\n%s", c.log())
		default:
		}
		if resp, err := probeClient.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("node on port %d not ready within 2 minutes:\n%s", port, c.log())
}

// kill ends what is left: the command's process group and each node
// still running (in a group of its own). A test that passed left nothing.
func (c *clusterCmd) kill() {
	select {
	case <-c.exited:
	default:
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.exited
	}
	for _, pid := range c.nodes {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// log is the output of the command and its nodes so far.
func (c *clusterCmd) log() string {
	b, _ := os.ReadFile(c.logPath)
	return string(b)
}

// childPIDs lists the processes whose parent is pid, from /proc.
func childPIDs(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list /proc: %v", err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// The fields after the command's name, which is in parentheses
		// and may hold anything: state, then the parent's id.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		if f := strings.Fields(string(rest)); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// alive reports whether process pid exists (a zombie counts).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
