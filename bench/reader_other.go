//go:build !linux

package bench

import "errors"

// reader is Linux's (reader_linux.go): elsewhere every connection is read
// by a goroutine of its own (conn.run).
type reader struct{}

func newReader(*worker) (*reader, error) { return nil, nil }

func (*reader) add(*conn) error { return errors.New("bench: no reader") }
func (*reader) detach(*conn)    {}
func (*reader) stop()           {}

// waitSnapshot is the Linux reader's; there is none here.
func (*reader) waitSnapshot() []uint64 { return nil }
