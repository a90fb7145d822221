package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Budget shares Mailchimp's limit of requests in flight per account between
// every function instance (internal/dynamo.MailchimpBudget).
type Budget interface {
	// Acquire takes one of the account's slots, waiting a bounded time
	// for one; it returns the slot, to give back or hold, and how long it
	// waited. Its error is transient when no slot came free in time.
	Acquire(ctx context.Context, account string) (slot apmc.BudgetSlot, waited time.Duration, err error)
}

// budgetAccount names the Mailchimp account whose budget the instance's
// requests count against: the account's id when the instance knows it,
// otherwise a digest of the API key (never the key itself, which would be
// stored in DynamoDB), so two keys of one unknown account get a budget each.
func budgetAccount(in apmc.Instance) string {
	if in.MailchimpAccountID != "" {
		return in.MailchimpAccountID
	}
	sum := sha256.Sum256([]byte(in.Secrets.MailchimpAPIKey))
	return "key-" + hex.EncodeToString(sum[:12])
}

// BudgetLease is how long a request holds its account's slot unless it gives
// it back: longer than the request may take (timeout, the API timeout, which
// also bounds the wait for the slot), so a slot is never shared while in use,
// and short enough that a crashed invocation's slot is soon free again. A
// request that may still be running at Mailchimp when the client gives up
// holds its slot longer (MailchimpCallLimit).
// 0 means DefaultTimeout.
func BudgetLease(timeout time.Duration) time.Duration { return orDefault(timeout) + 5*time.Second }

// MailchimpCallLimit is how long Mailchimp may run a call: it ends calls
// after 120 s, and a call that timed out for the client may still run and
// hold one of the account's connections until then (the contract's
// "Limits"). A request that failed that way holds its slot of the budget
// until this long after it was sent.
const MailchimpCallLimit = 120 * time.Second

// BudgetWait bounds how long a request waits for a slot of its account: half
// its API timeout, so the request itself keeps the other half. A change
// whose request found no slot in time fails with a transient error and is
// retried by the queue.
// 0 means DefaultTimeout.
func BudgetWait(timeout time.Duration) time.Duration { return orDefault(timeout) / 2 }

// BudgetKeep is how long the sync function keeps an account's slot after a
// request, for its next request to that account: a busy function reuses
// its slots (a take and a give-back in DynamoDB every few seconds rather
// than per request), and an idle one hands them back after this. On Lambda
// the handler gives every kept slot back before it returns
// (syncapp.Function.Handle), so a slot is reused within one batch only.
const BudgetKeep = 250 * time.Millisecond

func orDefault(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return DefaultTimeout
	}
	return timeout
}
