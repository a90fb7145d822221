package apmc

import (
	"slices"
	"strings"
	"time"
)

// MaxPageSize is the most executions one page holds.
const MaxPageSize = 200

// ExecutionQuery filters an instance's executions, newest first unless
// OldestFirst. The API, the console and the CLI each read it from their own
// syntax and call Validate; the operations validate it again before using
// it.
type ExecutionQuery struct {
	Status       Status    // empty: any
	Flow         Flow      // empty: both
	From, To     time.Time // zero: unbounded; From inclusive, To exclusive
	OriginalOnly bool      // hide retries and replays
	ChangedOnly  bool      // hide executions without trigger-detected changes
	Contact      string    // email, as NormalEmail returns it; empty: any
	Cursor       string    // opaque, from a previous page
	Limit        int       // page size; 0 means 50, at most MaxPageSize
	OldestFirst  bool      // order by execution id ascending (the operations' walks)
}

// Statuses are the statuses an execution ends with, in the order
// operators see them.
var Statuses = []Status{StatusSucceeded, StatusFailed, StatusBlocked, StatusSuppressed, StatusSkipped, StatusHeld}

// Flows are the two directions a change is applied in.
var Flows = []Flow{FlowToMailchimp, FlowToAccessplanit}

// Validate reports every filter of q that cannot be served, naming each as
// the API's query parameters do, in one invalid-input error.
func (q ExecutionQuery) Validate() error {
	var problems []string
	if q.Status != "" && !slices.Contains(Statuses, q.Status) {
		problems = append(problems, "status must be succeeded, failed, blocked, suppressed, skipped or held")
	}
	if q.Flow != "" && !slices.Contains(Flows, q.Flow) {
		problems = append(problems, "flow must be accessplanit_to_mailchimp or mailchimp_to_accessplanit")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		problems = append(problems, "from must be before to")
	}
	if q.Contact != "" && !LooksLikeEmail(q.Contact) {
		problems = append(problems, "contact must be an email address")
	}
	if q.Limit < 0 || q.Limit > MaxPageSize {
		problems = append(problems, "limit must be a number from 1 to 200")
	}
	if len(problems) > 0 {
		return Invalidf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// PageSize returns the effective page size.
func (q ExecutionQuery) PageSize() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > MaxPageSize:
		return MaxPageSize
	}
	return q.Limit
}

// ExecutionTally is what one bounded read of an instance's newest
// executions tells of their statuses.
type ExecutionTally struct {
	// Counts counts the executions read by status.
	Counts map[Status]int
	// Newest is, by status, when the newest execution read with it started.
	Newest map[Status]time.Time
	// Complete says every execution of the period was read; otherwise the
	// counts are lower bounds and a status missing from Newest may still
	// have older executions.
	Complete bool
}
