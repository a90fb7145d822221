package apmc

import (
	"context"
	"sync/atomic"
	"time"
)

// BudgetWait adds up how long a step's Mailchimp requests waited for the
// account's shared request budget, so an execution that waited says so.
type BudgetWait struct{ ns atomic.Int64 }

type budgetWaitKey struct{}

// WithBudgetWait returns a context whose Mailchimp requests report their
// wait to the returned BudgetWait.
func WithBudgetWait(ctx context.Context) (context.Context, *BudgetWait) {
	w := &BudgetWait{}
	return context.WithValue(ctx, budgetWaitKey{}, w), w
}

// AddBudgetWait records d against the context's BudgetWait, if it has one.
func AddBudgetWait(ctx context.Context, d time.Duration) {
	if w, ok := ctx.Value(budgetWaitKey{}).(*BudgetWait); ok && d > 0 {
		w.ns.Add(int64(d))
	}
}

// Total is the time waited so far.
func (w *BudgetWait) Total() time.Duration { return time.Duration(w.ns.Load()) }

// record puts the wait, if any, into a step's output.
func (w *BudgetWait) record(out map[string]any) {
	if d := w.Total(); d > 0 {
		out["mailchimp_budget_wait_ms"] = d.Milliseconds()
	}
}
