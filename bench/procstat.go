package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procSample is a reading of a local process from /proc.
type procSample struct {
	RSSKiB   int64 // VmRSS
	PeakKiB  int64 // VmHWM: the highest RSS since the process started
	Threads  int64
	CPUTicks int64 // utime + stime, in clock ticks
}

// clockTicks is USER_HZ; 100 on every Linux this runs on.
const clockTicks = 100

// cpuPercent is a process's CPU use (100 = one core) between two of its
// readings taken seconds apart.
func cpuPercent(before, after procSample, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(after.CPUTicks-before.CPUTicks) / clockTicks / seconds * 100
}

// readProc reads /proc/<pid>/status and /proc/<pid>/stat.
func readProc(pid int) (procSample, error) {
	var s procSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("bench: read process %d status: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "VmHWM":
			s.PeakKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			s.Threads, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("bench: read process %d stat: %w", pid, err)
	}
	// The command name may hold spaces; fields count from after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return s, fmt.Errorf("bench: process %d stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("bench: process %d stat: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14 of stat
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	s.CPUTicks = ut + st
	return s, nil
}

// findListener returns the pid of the local process listening on the
// port of rawURL: the socket's inode from /proc/net/tcp{,6}, then the
// process holding it among /proc/*/fd.
func findListener(rawURL string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, fmt.Errorf("bench: parse %q: %w", rawURL, err)
	}
	host, portS, err := net.SplitHostPort(u.Host)
	if err != nil {
		host, portS = u.Host, "80"
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0, fmt.Errorf("bench: %s is not local; pass --pid", u.Host)
	}
	port, err := strconv.ParseUint(portS, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bench: port of %s: %w", rawURL, err)
	}
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			// sl local_address rem_address st ... inode (field 9)
			if len(fs) < 10 || fs[3] != "0A" {
				continue
			}
			_, p, _ := strings.Cut(fs[1], ":")
			if v, err := strconv.ParseUint(p, 16, 16); err == nil && v == port {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("bench: no process listens on port %d", port)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		fds, _ := os.ReadDir(p + "/fd")
		for _, fd := range fds {
			if l, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && inodes[l] {
				return strconv.Atoi(filepath.Base(p))
			}
		}
	}
	return 0, fmt.Errorf("bench: no visible process holds the listener on port %d", port)
}
