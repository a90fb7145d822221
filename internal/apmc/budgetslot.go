package apmc

import (
	"context"
	"time"
)

// BudgetSlot is one Mailchimp request's hold on a slot of its account's
// shared request budget (internal/dynamo.MailchimpBudget). The request ends
// it once, with Release or HoldUntil.
type BudgetSlot interface {
	// Release ends the request's use of the slot once Mailchimp has
	// answered: the slot is given back, or kept for the process's next
	// request to the account.
	Release()
	// HoldUntil keeps the slot from every other request until at least
	// until, for a request Mailchimp may still be running after the client
	// gave up on it. The hold is a lease like any other: it runs out by
	// itself, so a process that never comes back leaks nothing.
	HoldUntil(ctx context.Context, until time.Time) error
}
