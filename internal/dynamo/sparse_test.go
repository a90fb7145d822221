package dynamo

import (
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestStatusIndexIsSparse: only the statuses an operator looks for among
// many are written to the by_status index.
func TestStatusIndexIsSparse(t *testing.T) {
	tests := []struct {
		status apmc.Status
		want   string
	}{
		{apmc.StatusSucceeded, ""},
		{apmc.StatusSuppressed, ""},
		{apmc.StatusFailed, "acme#failed"},
		{apmc.StatusHeld, "acme#held"},
		{apmc.StatusSkipped, "acme#skipped"},
	}
	for _, tt := range tests {
		it, err := toExecutionItem(apmc.Execution{ID: "01J", InstanceID: "acme", Status: tt.status, StartedAt: time.Now()})
		if err != nil {
			t.Fatalf("toExecutionItem() error = %v", err)
		}
		if it.StatusKey != tt.want {
			t.Errorf("status_key of a %s execution = %q, want %q", tt.status, it.StatusKey, tt.want)
		}
	}
}
