package accessplanit

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// PageSize is how many Users one page read asks for.
//
// ASSUMPTION: the platform answers pages of 1,000 Users; its largest page
// ($top) is not published. A platform that answered fewer would still be
// walked whole by UserPages, which stops only at an empty page.
const PageSize = 1000

// PageQuery says which page of Users to read.
type PageQuery struct {
	// Skip is how many Users, in ID order, come before the page.
	Skip int
	// Top is the page size; zero means PageSize, and more is refused.
	Top int
	// Fields are the properties to read besides ID, Email, Status,
	// DateUpdated and UpdatedByID, which are always read.
	Fields []string
	// UpdatedSince, when set, keeps only Users whose DateUpdated is at or
	// after it.
	UpdatedSince time.Time
}

// UsersPage reads one page of Users in ID order: $top/$skip, $orderby=ID,
// $select of the fields asked for plus the ones every read needs, and
// "DateUpdated ge …" when UpdatedSince is set.
//
// ASSUMPTION: the platform takes an unquoted OData date-time literal
// (2026-01-01T00:00:00.000Z) in $filter and compares it with its zoneless
// UTC stamps as times.
func (c *Client) UsersPage(ctx context.Context, p PageQuery) ([]apmc.User, error) {
	top := p.Top
	if top == 0 {
		top = PageSize
	}
	if top < 0 || top > PageSize || p.Skip < 0 {
		return nil, apmc.Invalidf("read accessplanit users: page $top=%d $skip=%d is out of range (top 1 to %d, skip 0 or more)", p.Top, p.Skip, PageSize)
	}
	q := query{}
	if !p.UpdatedSince.IsZero() {
		q = append(q, [2]string{"$filter", "DateUpdated ge " + p.UpdatedSince.UTC().Format("2006-01-02T15:04:05.000Z")})
	}
	q = append(q,
		[2]string{"$orderby", "ID"},
		[2]string{"$top", strconv.Itoa(top)},
		[2]string{"$skip", strconv.Itoa(p.Skip)},
		[2]string{"$select", selectList(p.Fields)},
	)
	body, _, err := c.do(ctx, http.MethodGet, "User", q, nil)
	if err != nil {
		return nil, fmt.Errorf("read accessplanit users %d to %d: %w", p.Skip+1, p.Skip+top, err)
	}
	users, err := decodeUsers(body)
	if err != nil {
		return nil, fmt.Errorf("read accessplanit users %d to %d: %w", p.Skip+1, p.Skip+top, err)
	}
	return users, nil
}

// UserPages walks every User p selects, one page after another from p.Skip,
// yielding each non-empty page; it stops after the first error, which it
// yields. Pages are taken by position in ID order, so a User created during
// the walk is read (new IDs come last), while a User removed during it can
// shift a later one into a page already read: a walk is a snapshot only of a
// platform that holds still, and reconciliation repairs what it misses.
func (c *Client) UserPages(ctx context.Context, p PageQuery) iter.Seq2[[]apmc.User, error] {
	return func(yield func([]apmc.User, error) bool) {
		for {
			users, err := c.UsersPage(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			if len(users) == 0 || !yield(users, nil) {
				return
			}
			p.Skip += len(users)
		}
	}
}
