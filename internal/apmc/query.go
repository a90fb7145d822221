package apmc

import "time"

// ExecutionQuery filters an instance's executions, newest first.
type ExecutionQuery struct {
	Status       Status    // empty: any
	Flow         Flow      // empty: both
	From, To     time.Time // zero: unbounded; From inclusive, To exclusive
	OriginalOnly bool      // hide retries and replays
	ChangedOnly  bool      // hide executions without trigger-detected changes
	Contact      string    // email, lower-cased; empty: any
	Cursor       string    // opaque, from a previous page
	Limit        int       // page size; 0 means 50, at most 200
}

// PageSize returns the effective page size.
func (q ExecutionQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > 200:
		return 200
	}
	return q.Limit
}
