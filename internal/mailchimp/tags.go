package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// tagJSON is one tag as a member answer or the member tags list gives it.
type tagJSON struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// tagPageSize is how many tags one GET …/tags asks for.
const tagPageSize = 1000

// UpdateTags sets the member's tags active or inactive with one
// POST /lists/{list_id}/members/{hash}/tags (answered 204). An unknown tag
// sent active is created; is_syncing stays false, so the audience's
// tag-based automations (a welcome to a course's bookers, say) do run.
func (c *Client) UpdateTags(ctx context.Context, listID, email string, tags []apmc.TagChange) error {
	if len(tags) == 0 {
		return nil
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
	if err := c.do(ctx, http.MethodPost, memberPath(listID, hash)+"/tags", nil, body, nil); err != nil {
		return fmt.Errorf("update tags of member %s: %w", hash, err)
	}
	return nil
}

// MemberTags returns every tag of the member, a page at a time.
func (c *Client) MemberTags(ctx context.Context, listID, email string) ([]string, error) {
	hash := SubscriberHash(email)
	var out []string
	for offset := 0; ; offset += tagPageSize {
		var page struct {
			Tags       []tagJSON `json:"tags"`
			TotalItems int       `json:"total_items"`
		}
		q := url.Values{"count": {strconv.Itoa(tagPageSize)}, "offset": {strconv.Itoa(offset)}}
		if err := c.do(ctx, http.MethodGet, memberPath(listID, hash)+"/tags", q, nil, &page); err != nil {
			return nil, fmt.Errorf("list tags of member %s: %w", hash, err)
		}
		for _, t := range page.Tags {
			out = append(out, t.Name)
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
	out.Tags = tags
	return out, nil
}
