package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "15ad5ac1f2e3d4c5b6a79881726354453627180a"},
		{Key: "vcs.time", Value: "2026-12-02T12:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	cases := []struct {
		name    string
		bi      *debug.BuildInfo
		ok      bool
		stamped string
		want    Info
		line    string
	}{
		{"work tree build", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs}, true, "",
			Info{Version: "devel", Revision: "15ad5ac1f2e3d4c5b6a79881726354453627180a", Time: "2026-12-02T12:00:00Z", Modified: true, GoVersion: "go1.26.8"},
			"devel (revision 15ad5ac1f2e3, 2026-12-02T12:00:00Z, modified) go1.26.8" + platform},
		{"stamped wins", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.0.0"}, Settings: vcs[:3]}, true, "v1.2.3",
			Info{Version: "v1.2.3", Revision: "15ad5ac1f2e3d4c5b6a79881726354453627180a", Time: "2026-12-02T12:00:00Z", GoVersion: "go1.26.8"},
			"v1.2.3 (revision 15ad5ac1f2e3, 2026-12-02T12:00:00Z) go1.26.8" + platform},
		{"go install of a tag", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.0.0"}}, true, "",
			Info{Version: "v1.0.0", GoVersion: "go1.26.8"}, "v1.0.0 go1.26.8" + platform},
		{"no build info", nil, false, "",
			Info{Version: "devel", GoVersion: runtime.Version()}, "devel " + runtime.Version() + platform},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fromBuildInfo(c.bi, c.ok, c.stamped)
			if got != c.want {
				t.Fatalf("Info = %+v, want %+v", got, c.want)
			}
			if s := got.String(); s != c.line {
				t.Fatalf("String = %q, want %q", s, c.line)
			}
		})
	}
}

// TestGet reads the test binary's own build info.
func TestGet(t *testing.T) {
	i := Get()
	if i.Version == "" || !strings.HasPrefix(i.GoVersion, "go") {
		t.Fatalf("Get() = %+v", i)
	}
}
