package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/apmc-sync/apmc/internal/accessplanit"
	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/backfill"
	"github.com/apmc-sync/apmc/internal/mailchimp"
)

// Backfill returns what first sync reads and writes for the instance: both
// sides page by page, Mailchimp's batch subscribe, and the single calls.
func (c *Connector) Backfill(in apmc.Instance) (backfill.Sides, error) {
	mcc, err := c.mailchimpClient(in)
	if err != nil {
		return backfill.Sides{}, err
	}
	apc, err := c.accessplanitClient(in)
	if err != nil {
		return backfill.Sides{}, err
	}
	var tags []string
	for _, m := range in.Mappings {
		tags = append(tags, m.MergeTag)
	}
	return backfill.Sides{
		Users:        userPages{apc},
		Members:      memberPages{mcc, in.MailchimpListID, tags},
		Batches:      memberBatches{mcc},
		Member:       mcc,
		Accessplanit: apc,
	}, nil
}

type userPages struct{ c *accessplanit.Client }

func (u userPages) UserPage(ctx context.Context, n int, fields []string) ([]apmc.User, error) {
	return u.c.UsersPage(ctx, accessplanit.PageQuery{Skip: n * accessplanit.PageSize, Top: accessplanit.PageSize, Fields: fields})
}

type memberPages struct {
	c      *mailchimp.Client
	listID string
	tags   []string
}

func (m memberPages) MemberPage(ctx context.Context, n int) ([]apmc.Member, error) {
	ms, _, err := m.c.MembersPage(ctx, m.listID, n*mailchimp.MaxMembersPage, mailchimp.MaxMembersPage, time.Time{}, m.tags)
	return ms, err
}

type memberBatches struct{ c *mailchimp.Client }

func (b memberBatches) UpsertMembers(ctx context.Context, listID string, members []apmc.Member, statusIfNew string) (backfill.Written, map[string]error, error) {
	res, err := b.c.BatchSubscribe(ctx, listID, members, statusIfNew)
	if err != nil {
		return backfill.Written{}, nil, fmt.Errorf("batch subscribe: %w", err)
	}
	written := backfill.Written{Created: res.Created, Updated: res.Updated}
	refused := make(map[string]error, len(res.Errors))
	for email, e := range res.Errors {
		refused[email] = e
	}
	return written, refused, nil
}
