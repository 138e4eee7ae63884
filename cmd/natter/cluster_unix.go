//go:build unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// stopSignals stop natter cluster. SIGHUP is among them because the
// nodes, in process groups of their own, no longer get the terminal's
// hangup: a closed terminal must still stop them.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// ownProcessGroup starts cmd in a new process group, out of the reach of
// signals the terminal sends to its foreground group (Ctrl-C).
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
