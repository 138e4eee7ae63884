//go:build unix

package node

import "syscall"

// errTooManyFiles is accept's error when the process is out of file
// descriptors.
const errTooManyFiles = syscall.EMFILE
