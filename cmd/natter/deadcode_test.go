package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoReflectiveMethodCalls: no package of the module calls a method
// by reflection (reflect.Value.Method, Type.Method, MethodByName). One
// such call makes the linker keep every exported method of every type
// reachable: 3 MB more of the node's binary the one time it happened.
func TestNoReflectiveMethodCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	out, err := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", "/dev/null", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go build is not available: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "github.com/natterchat/") && strings.Contains(line, "<ReflectMethod>") {
			t.Fatalf("a reflective method call disables the linker's dead code elimination: %s", line)
		}
	}
}
