package apmc

import (
	"errors"
	"testing"
)

func TestErrorsKeepWhatTheyWrap(t *testing.T) {
	cause := errors.New("the cause")
	other := errors.New("another cause")
	tests := []struct {
		name        string
		err         error
		wantMsg     string
		wantInvalid bool
		wraps       []error
	}{
		{"permanent, wrapping", Permanentf("doing x: %w", cause), "doing x: the cause", false, []error{cause}},
		{"invalid, wrapping", Invalidf("execution %s: %w", "e1", cause), "execution e1: the cause", true, []error{cause}},
		{"invalid, wrapping two", Invalidf("%w; %w", cause, other), "the cause; another cause", true, []error{cause, other}},
		{"permanent, quoting only", Permanentf("doing x: %v", cause), "doing x: the cause", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			if !IsPermanent(tt.err) {
				t.Errorf("IsPermanent(%v) = false, want true", tt.err)
			}
			if got := IsInvalid(tt.err); got != tt.wantInvalid {
				t.Errorf("IsInvalid(%v) = %v, want %v", tt.err, got, tt.wantInvalid)
			}
			for _, w := range tt.wraps {
				if !errors.Is(tt.err, w) {
					t.Errorf("errors.Is(%v, %v) = false, want true", tt.err, w)
				}
			}
			if tt.wraps == nil && errors.Is(tt.err, cause) {
				t.Errorf("errors.Is(%v, cause) = true for a %%v operand, want false", tt.err)
			}
		})
	}
}
