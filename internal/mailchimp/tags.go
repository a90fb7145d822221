package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// tagJSON is one tag as a member answer or the member tags list gives it
// (date_added only in the list).
type tagJSON struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	DateAdded string `json:"date_added,omitempty"`
}

// tagPageSize is how many tags one GET …/tags asks for.
const tagPageSize = 1000

// UpdateTags sets the member's tags active or inactive with one
// POST /lists/{list_id}/members/{hash}/tags (answered 204). An unknown tag
// sent active is created; is_syncing stays false, so the audience's
// tag-based automations (a welcome to a course's bookers, say) do run.
//
// It returns when Mailchimp applied the tags, by Mailchimp's clock: the
// answer's Date less the time the request took, to the second below, so no
// later than the date_added of a tag this call added. ASSUMPTION: setting
// active a tag the member carries already keeps the tag's date_added (the
// published contract does not say; the simulator behaves so), while a tag
// taken off and added again gets a new one; the service tells a
// marketer's tag from its own by it (apmc.DecideTags).
//
// A member no longer in the audience (permanently deleted) is a blocked
// contact that also wraps apmc.ErrNotFound (see memberGone).
func (c *Client) UpdateTags(ctx context.Context, listID, email string, tags []apmc.TagChange) (time.Time, error) {
	if len(tags) == 0 {
		return time.Time{}, nil
	}
	type tagStatus struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	}
	body := struct {
		Tags []tagStatus `json:"tags"`
	}{}
	for _, t := range tags {
		status := "inactive"
		if t.Active {
			status = "active"
		}
		body.Tags = append(body.Tags, tagStatus{Name: t.Name, Status: status})
	}
	hash := SubscriberHash(email)
	at, err := c.doAt(ctx, http.MethodPost, memberPath(listID, hash)+"/tags", nil, body, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("update tags of member %s: %w", hash, c.memberGone(ctx, listID, err))
	}
	return at, nil
}

// MemberTags returns every tag of the member with its date_added, a page
// at a time. A member no longer in the audience is a blocked contact that
// also wraps apmc.ErrNotFound (see memberGone).
func (c *Client) MemberTags(ctx context.Context, listID, email string) ([]apmc.MemberTag, error) {
	hash := SubscriberHash(email)
	var out []apmc.MemberTag
	for offset := 0; ; offset += tagPageSize {
		var page struct {
			Tags       []tagJSON `json:"tags"`
			TotalItems int       `json:"total_items"`
		}
		q := url.Values{"count": {strconv.Itoa(tagPageSize)}, "offset": {strconv.Itoa(offset)}}
		if err := c.do(ctx, http.MethodGet, memberPath(listID, hash)+"/tags", q, nil, &page); err != nil {
			return nil, fmt.Errorf("list tags of member %s: %w", hash, c.memberGone(ctx, listID, err))
		}
		for _, t := range page.Tags {
			tag := apmc.MemberTag{Name: t.Name}
			if added, err := time.Parse(time.RFC3339, t.DateAdded); err == nil {
				tag.Added = added.UTC()
			}
			out = append(out, tag)
		}
		if len(page.Tags) == 0 || len(out) >= page.TotalItems {
			return out, nil
		}
	}
}

// withAllTags converts a member answer, reading the rest of its tags when
// the answer carried only some (Mailchimp puts at most 50 in a member).
func (c *Client) withAllTags(ctx context.Context, listID string, m memberJSON) (apmc.Member, error) {
	out := m.toMember()
	if m.TagsCount <= len(m.Tags) {
		return out, nil
	}
	tags, err := c.MemberTags(ctx, listID, out.Email)
	if err != nil {
		return apmc.Member{}, err
	}
	out.Tags = nil
	for _, t := range tags {
		out.Tags = append(out.Tags, t.Name)
	}
	return out, nil
}
