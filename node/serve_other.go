//go:build !unix

package node

import "errors"

var errTooManyFiles = errors.New("node: too many open files")
