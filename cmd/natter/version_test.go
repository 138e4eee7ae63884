package main

import (
	"os/exec"
	"regexp"
	"testing"
)

// The version TestMain stamps into the binary, as the Dockerfile does.
const (
	versionVar  = "github.com/natterchat/natter/internal/version.Version"
	testVersion = "v0.0.0-test"
)

// TestVersionFlag runs the built binary: --version and the version
// command print the stamped version, the VCS revision when the build had
// one, and the Go version, and start nothing.
func TestVersionFlag(t *testing.T) {
	line := regexp.MustCompile(`^natter ` + regexp.QuoteMeta(testVersion) + `( \(revision [0-9a-f]{12}(, [0-9TZ:-]+)?(, modified)?\))? go1\.[0-9.]+\S* \S+/\S+\n$`)
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(natterBin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("natter %s: %v\n%s", arg, err, out)
		}
		if !line.Match(out) {
			t.Fatalf("natter %s printed %q, want %s", arg, out, line)
		}
	}
}
