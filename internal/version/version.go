// Package version says which build of natter is running: the version
// stamped at link time, or else the module version the go command
// recorded, the VCS revision and time it was built from, whether the
// work tree had changes, and the Go version.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is stamped at link time by release builds and the Dockerfile:
//
//	go build -ldflags "-X github.com/natterchat/natter/internal/version.Version=v1.2.3" ./cmd/natter
//
// Empty: the module version from the build info is used.
var Version = ""

// Revision may be stamped the same way where the build has no VCS
// information (a container build whose context has no .git, or
// -buildvcs=false); the build info's vcs.revision wins when present.
var Revision = ""

// Info is what a binary knows about its build.
type Info struct {
	// Version is the stamped Version, else the main module's version
	// (a tag, or a pseudo-version when built with go install from a
	// module proxy), else "devel".
	Version string `json:"version"`
	// Revision and Time are the VCS commit and its time (vcs.revision,
	// vcs.time); empty when built outside a repository or with
	// -buildvcs=false.
	Revision string `json:"revision,omitempty"`
	Time     string `json:"time,omitempty"`
	// Modified is set when the work tree had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"goVersion"`
}

// Get returns the running binary's Info.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	i := fromBuildInfo(bi, ok, Version)
	if i.Revision == "" {
		i.Revision = Revision
	}
	return i
}

// fromBuildInfo builds Info from what debug.ReadBuildInfo returned and a
// stamped version.
func fromBuildInfo(bi *debug.BuildInfo, ok bool, stamped string) Info {
	i := Info{Version: stamped, GoVersion: runtime.Version()}
	if !ok || bi == nil {
		if i.Version == "" {
			i.Version = "devel"
		}
		return i
	}
	if bi.GoVersion != "" {
		i.GoVersion = bi.GoVersion
	}
	if i.Version == "" {
		// "(devel)" is what go build says in a work tree without a tag.
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			i.Version = v
		} else {
			i.Version = "devel"
		}
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// ShortRevision is the first 12 characters of the revision.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is the one line of `natter --version`, e.g.
// "v1.2.0 (revision 15ad5ac1f2e3, 2026-12-02T12:00:00Z, modified) go1.26.8 linux/amd64".
func (i Info) String() string {
	var vcs []string
	if i.Revision != "" {
		vcs = append(vcs, "revision "+i.ShortRevision())
	}
	if i.Time != "" {
		vcs = append(vcs, i.Time)
	}
	if i.Modified {
		vcs = append(vcs, "modified")
	}
	s := i.Version
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s/%s", s, i.GoVersion, runtime.GOOS, runtime.GOARCH)
}
