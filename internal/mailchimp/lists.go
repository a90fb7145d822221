package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// pageSize is the count asked for per page; Mailchimp allows up to 1000.
const pageSize = 1000

// maxPages stops paging through a collection that never ends (a server
// answering a wrong total_items).
const maxPages = 1000

// List is an audience.
type List struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"member_count"`
}

// MergeField is one of an audience's merge fields.
type MergeField struct {
	Tag      string            `json:"tag"`
	Name     string            `json:"name"`
	Type     string            `json:"type"` // text, number, address, phone, date, birthday, …
	Required bool              `json:"required"`
	Options  MergeFieldOptions `json:"options"`
}

// MergeFieldOptions are the extra settings of some merge field types.
type MergeFieldOptions struct {
	DateFormat     string   `json:"date_format,omitempty"`  // date and birthday fields
	PhoneFormat    string   `json:"phone_format,omitempty"` // phone fields: US or International
	DefaultCountry int      `json:"default_country,omitempty"`
	Choices        []string `json:"choices,omitempty"` // radio and dropdown fields
	Size           int      `json:"size,omitempty"`    // text fields
}

// Ping checks that the API answers and the key is accepted.
func (c *Client) Ping(ctx context.Context) error {
	var out struct {
		HealthStatus string `json:"health_status"`
	}
	if err := c.do(ctx, http.MethodGet, "/ping", nil, nil, &out); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// AccountID returns the id of the account the key belongs to, from the API
// root. Every key of one account shares its limit of connections.
func (c *Client) AccountID(ctx context.Context) (string, error) {
	var out struct {
		AccountID string `json:"account_id"`
	}
	if err := c.do(ctx, http.MethodGet, "/", nil, nil, &out); err != nil {
		return "", fmt.Errorf("read the account: %w", err)
	}
	if out.AccountID == "" {
		return "", errors.New("read the account: the API root has no account_id")
	}
	return out.AccountID, nil
}

// Lists returns every audience of the account.
func (c *Client) Lists(ctx context.Context) ([]List, error) {
	type listJSON struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Stats struct {
			MemberCount int `json:"member_count"`
		} `json:"stats"`
	}
	var out []List
	err := c.pages(ctx, "/lists", func(q url.Values) (int, int, error) {
		var page struct {
			Lists      []listJSON `json:"lists"`
			TotalItems int        `json:"total_items"`
		}
		if err := c.do(ctx, http.MethodGet, "/lists", q, nil, &page); err != nil {
			return 0, 0, err
		}
		for _, l := range page.Lists {
			out = append(out, List{ID: l.ID, Name: l.Name, MemberCount: l.Stats.MemberCount})
		}
		return len(page.Lists), page.TotalItems, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list audiences: %w", err)
	}
	return out, nil
}

// MergeFields returns every merge field of the audience.
func (c *Client) MergeFields(ctx context.Context, listID string) ([]MergeField, error) {
	path := "/lists/" + pathSegment(listID) + "/merge-fields"
	var out []MergeField
	err := c.pages(ctx, path, func(q url.Values) (int, int, error) {
		var page struct {
			MergeFields []MergeField `json:"merge_fields"`
			TotalItems  int          `json:"total_items"`
		}
		if err := c.do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return 0, 0, err
		}
		out = append(out, page.MergeFields...)
		return len(page.MergeFields), page.TotalItems, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list merge fields of audience %s: %w", listID, err)
	}
	return out, nil
}

// pages calls fetch with count/offset until total_items are read or a page
// comes back empty. fetch returns the page's length and total_items.
func (c *Client) pages(ctx context.Context, path string, fetch func(url.Values) (int, int, error)) error {
	offset := 0
	for range maxPages {
		q := url.Values{"count": {strconv.Itoa(pageSize)}, "offset": {strconv.Itoa(offset)}}
		n, total, err := fetch(q)
		if err != nil {
			return err
		}
		offset += n
		if n == 0 || offset >= total {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: more than %d pages", path, maxPages)
}

// pathSegment escapes an id for use as one path segment.
func pathSegment(id string) string { return url.PathEscape(id) }
