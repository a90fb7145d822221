package apmc

import (
	"strings"
	"testing"
	"time"
)

func TestExecutionQueryValidate(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		q    ExecutionQuery
		want []string // problems named; none: valid
	}{
		{"empty", ExecutionQuery{}, nil},
		{"every filter", ExecutionQuery{Status: StatusHeld, Flow: FlowToAccessplanit, From: at, To: at.Add(time.Hour),
			OriginalOnly: true, ChangedOnly: true, Contact: "ada@example.com", Cursor: "abc", Limit: MaxPageSize}, nil},
		{"unknown status", ExecutionQuery{Status: "exploded"}, []string{"status must be"}},
		{"unknown flow", ExecutionQuery{Flow: "sideways"}, []string{"flow must be"}},
		{"from equal to to", ExecutionQuery{From: at, To: at}, []string{"from must be before to"}},
		{"only from", ExecutionQuery{From: at}, nil},
		{"contact not an email", ExecutionQuery{Contact: "<script>"}, []string{"contact must be an email address"}},
		{"limit below zero", ExecutionQuery{Limit: -1}, []string{"limit must be a number from 1 to 200"}},
		{"limit too big", ExecutionQuery{Limit: MaxPageSize + 1}, []string{"limit must be"}},
		{"everything wrong at once", ExecutionQuery{Status: "x", Flow: "y", Contact: "z", Limit: -1},
			[]string{"status must be", "flow must be", "contact must be", "limit must be"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tt.q, err)
				}
				return
			}
			if !IsInvalid(err) {
				t.Fatalf("Validate(%+v) = %v, want an invalid-input error", tt.q, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %q, want it to name %q", tt.q, err, w)
				}
			}
		})
	}
}
