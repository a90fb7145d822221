package queue_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/queue"
)

func TestBulkShare(t *testing.T) {
	tests := []struct {
		total, changes, bulk int
	}{
		{1, 1, 1}, // the bulk queue is never left without a consumer
		{2, 1, 1},
		{3, 2, 1},
		{4, 2, 2},
		{20, 10, 10},
		{21, 11, 10},
		{1000, 500, 500},
	}
	for _, tt := range tests {
		changes, bulk := queue.BulkShare(tt.total)
		if changes != tt.changes || bulk != tt.bulk {
			t.Errorf("BulkShare(%d) = %d, %d, want %d, %d", tt.total, changes, bulk, tt.changes, tt.bulk)
		}
	}
}
