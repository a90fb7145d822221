package mailchimp

import (
	"context"
	"fmt"
	"net/http"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// MaxBatchMembers is the most members one batch subscribe may carry.
const MaxBatchMembers = 500

// BatchResult is what a batch subscribe did.
type BatchResult struct {
	// Created and Updated are the members Mailchimp created and updated, as
	// they are after the call.
	Created, Updated []apmc.Member
	// Errors are the members Mailchimp refused, by lower-cased email; the
	// others were written all the same.
	Errors map[string]BatchError
}

// BatchError is Mailchimp's reason for refusing one member of a batch.
type BatchError struct {
	// Code is ERROR_CONTACT_EXISTS or ERROR_GENERIC.
	Code    string
	Message string
	// Field and FieldMessage name the field at fault, when there is one.
	Field, FieldMessage string
}

// Error describes the refusal as Mailchimp gave it.
func (e BatchError) Error() string {
	msg := "mailchimp refused the member (" + e.Code + "): " + e.Message
	if e.Field != "" {
		msg += " [" + e.Field + ": " + e.FieldMessage + "]"
	}
	return msg
}

// Permanent reports that sending the member again as it is would be refused
// again: Mailchimp refuses a member of a batch for what it holds (an
// invalid address or value, a compliance state), not for its own load,
// which fails the whole call instead.
func (e BatchError) Permanent() bool { return true }

// batchMember is one member of a batch subscribe body. It never carries
// status: see BatchSubscribe.
type batchMember struct {
	EmailAddress string            `json:"email_address"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields,omitempty"`
	Interests    map[string]bool   `json:"interests,omitempty"`
	// Tags are added to the member (sync_tags is never sent, so no tag is
	// taken off).
	Tags []string `json:"tags,omitempty"`
}

type batchBody struct {
	Members        []batchMember `json:"members"`
	UpdateExisting bool          `json:"update_existing"`
}

type batchAnswer struct {
	NewMembers     []memberJSON `json:"new_members"`
	UpdatedMembers []memberJSON `json:"updated_members"`
	Errors         []struct {
		EmailAddress string `json:"email_address"`
		Error        string `json:"error"`
		ErrorCode    string `json:"error_code"`
		Field        string `json:"field"`
		FieldMessage string `json:"field_message"`
	} `json:"errors"`
}

// BatchSubscribe creates or updates up to MaxBatchMembers members in one
// call (POST /lists/{list_id}, update_existing true), each with its email
// (m.Email, or else the EMAIL merge field) and merge fields.
//
// It never changes an existing member's status. Mailchimp documents
// update_existing as "whether this batch operation will change existing
// members' subscription status", so a member sent with status would have it
// overwritten (an unsubscribed person re-subscribed). The batch endpoint
// takes status_if_new per member (the published schema requires status or
// status_if_new), which applies only to a member it creates; so every member
// is sent with status_if_new = statusIfNew and without status, and
// m.Status is ignored.
//
// A member Mailchimp refuses is in the result's Errors with its reason; the
// call fails only when the request as a whole does. More than
// MaxBatchMembers members, a member without an address or an address sent
// twice is refused before anything is sent.
func (c *Client) BatchSubscribe(ctx context.Context, listID string, members []apmc.Member, statusIfNew string) (BatchResult, error) {
	if len(members) > MaxBatchMembers {
		return BatchResult{}, apmc.Invalidf("batch subscribe: %d members, at most %d a call", len(members), MaxBatchMembers)
	}
	if err := checkStatusIfNew(statusIfNew); err != nil {
		return BatchResult{}, fmt.Errorf("batch subscribe: %w", err)
	}
	result := BatchResult{Errors: map[string]BatchError{}}
	if len(members) == 0 {
		return result, nil
	}
	body := batchBody{UpdateExisting: true, Members: make([]batchMember, 0, len(members))}
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		email := memberEmail(m)
		if email == "" {
			return BatchResult{}, apmc.Invalidf("batch subscribe: member %d has no email address", i)
		}
		if seen[email] {
			return BatchResult{}, apmc.Invalidf("batch subscribe: %s is in the batch twice", email)
		}
		seen[email] = true
		body.Members = append(body.Members, batchMember{EmailAddress: email, StatusIfNew: statusIfNew, MergeFields: mergeFieldsToSend(m.MergeFields), Interests: m.Interests, Tags: m.Tags})
	}
	var answer batchAnswer
	if err := c.do(ctx, http.MethodPost, "/lists/"+pathSegment(listID), nil, body, &answer); err != nil {
		return BatchResult{}, fmt.Errorf("batch subscribe %d members: %w", len(members), err)
	}
	// A member answer names at most 50 tags: the rest are read, so that a
	// written member's tags are all of them, as apmc.Member promises.
	for _, list := range []struct {
		from []memberJSON
		to   *[]apmc.Member
	}{{answer.NewMembers, &result.Created}, {answer.UpdatedMembers, &result.Updated}} {
		for _, m := range list.from {
			member, err := c.withAllTags(ctx, listID, m)
			if err != nil {
				return BatchResult{}, fmt.Errorf("batch subscribe %d members: %w", len(members), err)
			}
			*list.to = append(*list.to, member)
		}
	}
	for _, e := range answer.Errors {
		result.Errors[apmc.NormaliseEmail(e.EmailAddress)] = BatchError{Code: e.ErrorCode, Message: e.Error, Field: e.Field, FieldMessage: e.FieldMessage}
	}
	return result, nil
}

// UpsertMembers writes members of one audience in one batch subscribe call
// (see BatchSubscribe: a new member gets statusIfNew, an existing member
// keeps its status) and answers as the live sync needs it: each member as
// written, by lower-cased email, and each member Mailchimp refused with its
// own reason (a permanent error). err is set only when the call as a whole
// failed, so every member of it is to be tried again or given up together.
func (c *Client) UpsertMembers(ctx context.Context, listID string, members []apmc.Member, statusIfNew string) (written map[string]apmc.Member, refused map[string]error, err error) {
	res, err := c.BatchSubscribe(ctx, listID, members, statusIfNew)
	if err != nil {
		return nil, nil, err
	}
	written = make(map[string]apmc.Member, len(res.Created)+len(res.Updated))
	for _, m := range append(res.Created, res.Updated...) {
		written[memberEmail(m)] = m
	}
	refused = make(map[string]error, len(res.Errors))
	for email, e := range res.Errors {
		refused[email] = e
	}
	return written, refused, nil
}

var _ apmc.MailchimpBatch = (*Client)(nil)
