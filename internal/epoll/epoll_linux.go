//go:build linux

package epoll

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Instance is an epoll instance and the eventfd that wakes its owner,
// registered in it with event data 0.
type Instance struct {
	Fd     int
	File   *os.File // Fd, non-blocking, registered with the runtime's netpoller
	WakeFd int
}

// New makes an Instance. Closing File closes Fd; WakeFd is the owner's
// to close.
func New() (*Instance, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // data 0: the wake fd
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("epoll_ctl wake fd: %w", err)
	}
	// Non-blocking, so that os.NewFile registers it with the netpoller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, fmt.Errorf("epoll fd non-blocking: %w", err)
	}
	return &Instance{Fd: epfd, File: os.NewFile(uintptr(epfd), "epoll"), WakeFd: wakefd}, nil
}

// Event is an event of kinds events (EPOLLIN, ...) whose data is id, a
// connection's number. The kernel reuses fd numbers, so the owners
// register ids rather than fds; id 0 is the wake fd's.
func Event(events uint32, id uint64) unix.EpollEvent {
	return unix.EpollEvent{Events: events, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
}

// ID is the id an event was registered with (Event).
func ID(e *unix.EpollEvent) uint64 { return uint64(uint32(e.Fd)) | uint64(uint32(e.Pad))<<32 }
