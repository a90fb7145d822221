package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// blockingTitles are the titles of the 400 answers with which Mailchimp
// refuses a contact for what the contact is, not for what was sent: it
// unsubscribed, bounced (cleaned) or was put under compliance review
// ("Member In Compliance State"), or it was permanently deleted
// ("Forgotten Email Not Subscribed"). No retry and no other value changes
// that; only the person can, by signing up again.
var blockingTitles = []string{"Member In Compliance State", "Forgotten Email Not Subscribed"}

// BlockedError is Mailchimp refusing a contact it will not take (see
// blockingTitles), or answering 404 to a call on a member the audience no
// longer holds (Gone, see memberGone). It is permanent, and it says so
// apart from other permanent failures: the engine records such a change as
// blocked, not failed.
type BlockedError struct {
	Err *APIError
	// Gone says the answer was a 404 to a call on one member while the
	// audience itself answers: the member is no longer in it.
	Gone bool
}

// Error is Mailchimp's answer as an APIError describes it.
func (e *BlockedError) Error() string { return e.Err.Error() }

// Unwrap gives the APIError to errors.As.
func (e *BlockedError) Unwrap() error { return e.Err }

// Permanent reports that no retry can fix the error: always true.
func (e *BlockedError) Permanent() bool { return true }

// Blocked returns Mailchimp's reason: its title and detail, or, for a
// member gone from the audience, what its 404 means.
func (e *BlockedError) Blocked() string {
	if e.Gone {
		answer := strings.TrimPrefix(e.Err.Error(), "mailchimp: ")
		return "the member is no longer in the audience (Mailchimp answered " + answer + "): permanently deleted; nothing is written to it"
	}
	if e.Err.Detail == "" {
		return e.Err.Title
	}
	return e.Err.Title + ": " + e.Err.Detail
}

// classify returns the error a non-2xx answer is: a BlockedError for a
// contact Mailchimp will not take, the APIError otherwise.
func classify(e *APIError) error {
	if e.Status == http.StatusBadRequest {
		for _, t := range blockingTitles {
			if strings.EqualFold(strings.TrimSpace(e.Title), t) {
				return &BlockedError{Err: e}
			}
		}
	}
	return e
}

// memberGone classifies the error of a call on one member the service
// knows the audience held: its tags written or read, or a PATCH of it (an
// unsubscribe, an email change). A 404 to such a call means the member is
// no longer in the audience: it was permanently deleted (an archived member
// still exists and answers), so it is a BlockedError (Gone), still matching
// apmc.ErrNotFound for the callers to whom a missing member is an answer.
// ASSUMPTION: Mailchimp answers such a call with the 404 "Resource Not
// Found" it answers a read of a member the audience does not hold (the
// published contract documents the 404 of none of these calls; the
// simulator answers so). The same 404 comes for an audience that does not
// exist, so the audience is read (one call, only on a 404) to tell them
// apart. An audience that answers 404 too leaves the error as it was: a
// wrong or deleted audience is a failure of the configuration, not a
// blocked contact. An audience that cannot be read now (a 429, a 5xx, the
// network) makes the error that read's, retried like it.
func (c *Client) memberGone(ctx context.Context, listID string, err error) error {
	var answer *APIError
	if !errors.As(err, &answer) || answer.Status != http.StatusNotFound {
		return err
	}
	lerr := c.do(ctx, http.MethodGet, "/lists/"+pathSegment(listID), url.Values{"fields": {"id"}}, nil, nil)
	switch {
	case lerr == nil:
		return &BlockedError{Err: answer, Gone: true}
	case errors.Is(lerr, apmc.ErrNotFound):
		return err
	}
	return fmt.Errorf("%s, and reading the audience, to tell a deleted member from a missing audience, failed: %w", answer.Error(), lerr)
}

// blockingMessages are what a batch subscribe says of a member it refuses
// for the same reasons: its errors carry no title, only a message.
var blockingMessages = []string{"compliance state", "permanently deleted"}

// Blocked returns Mailchimp's message when it refused the member as a
// contact it will not take (see blockingTitles), and "" otherwise.
func (e BatchError) Blocked() string {
	msg := strings.ToLower(e.Message)
	for _, m := range blockingMessages {
		if strings.Contains(msg, m) {
			return e.Message
		}
	}
	return ""
}
