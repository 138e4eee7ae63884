//go:build !unix

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// stopSignals stop natter cluster.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// ownProcessGroup does nothing here: process groups are a Unix notion.
func ownProcessGroup(*exec.Cmd) {}
