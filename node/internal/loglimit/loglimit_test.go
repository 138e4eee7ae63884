package loglimit

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestWarnLimitsPerMessage: a repeated message is logged once a second,
// other messages are not held back by it.
func TestWarnLimitsPerMessage(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)))
	for range 5 {
		l.Warn("flood")
	}
	l.Warn("other")
	out := buf.String()
	if n := strings.Count(out, "msg=flood"); n != 1 {
		t.Fatalf("flood logged %d times, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "msg=other") {
		t.Fatalf("other message held back:\n%s", out)
	}
}
