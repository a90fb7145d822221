package connector

import (
	"context"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
	"github.com/apmc-sync/apmc/internal/reconcile"
)

// Reconcile returns what a reconciliation reads of the instance: the Users
// and members changed since a time, page by page.
func (c *Connector) Reconcile(in apmc.Instance) (reconcile.Sides, error) {
	mcc, err := c.mailchimpClient(in)
	if err != nil {
		return reconcile.Sides{}, err
	}
	apc, err := c.accessplanitClient(in)
	if err != nil {
		return reconcile.Sides{}, err
	}
	members := memberPages{mcc, in.MailchimpListID, mergeTags(in)}
	return reconcile.Sides{Users: userPages{apc}, Members: members}, nil
}

func (u userPages) ChangedUsers(ctx context.Context, n int, since time.Time, fields []string) ([]apmc.User, error) {
	return u.c.UsersPage(ctx, accessplanit.PageQuery{Skip: n * accessplanit.PageSize, Top: accessplanit.PageSize, Fields: fields, UpdatedSince: since})
}

func (m memberPages) ChangedMembers(ctx context.Context, n int, since time.Time) ([]apmc.Member, error) {
	ms, _, err := m.c.MembersPage(ctx, m.listID, n*mailchimp.MaxMembersPage, mailchimp.MaxMembersPage, since, m.tags)
	return ms, err
}

// mergeTags are the merge tags the instance's mappings use.
func mergeTags(in apmc.Instance) []string {
	var tags []string
	for _, m := range in.Mappings {
		tags = append(tags, m.MergeTag)
	}
	return tags
}
