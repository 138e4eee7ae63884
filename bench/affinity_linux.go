//go:build linux

package bench

import "golang.org/x/sys/unix"

// pinProcess restricts process pid to cpu.
func pinProcess(pid, cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	return unix.SchedSetaffinity(pid, &set)
}
