package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNodeStatsOnAdminPort: a node whose public port does not serve
// /api/stats (it has an admin port) is reported with the flag that
// points the bench at the right address, not a bare 404.
func TestNodeStatsOnAdminPort(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := nodeStats(context.Background(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "--stats-url") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("stats on the public port of a node with an admin port: %v, want a 404 naming --stats-url", err)
	}
}
