//go:build !linux

package bench

import "errors"

// pinProcess is not available here.
func pinProcess(pid, cpu int) error {
	return errors.New("pinning a process to a CPU needs Linux")
}
