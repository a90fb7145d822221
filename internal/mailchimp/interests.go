package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// InterestCategories returns the audience's interest categories (its
// groups), each with its interests: GET /lists/{id}/interest-categories and,
// per category, GET …/interest-categories/{id}/interests.
func (c *Client) InterestCategories(ctx context.Context, listID string) ([]apmc.InterestCategory, error) {
	path := "/lists/" + pathSegment(listID) + "/interest-categories"
	var out []apmc.InterestCategory
	err := c.pages(ctx, path, func(q url.Values) (int, int, error) {
		var page struct {
			Categories []struct {
				ID    string `json:"id"`
				Title string `json:"title"`
				Type  string `json:"type"`
			} `json:"categories"`
			TotalItems int `json:"total_items"`
		}
		if err := c.do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return 0, 0, err
		}
		for _, cat := range page.Categories {
			out = append(out, apmc.InterestCategory{ID: cat.ID, Title: cat.Title, Type: cat.Type, Interests: map[string]string{}})
		}
		return len(page.Categories), page.TotalItems, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list interest categories of audience %s: %w", listID, err)
	}
	for i, cat := range out {
		ipath := path + "/" + pathSegment(cat.ID) + "/interests"
		err := c.pages(ctx, ipath, func(q url.Values) (int, int, error) {
			var page struct {
				Interests []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"interests"`
				TotalItems int `json:"total_items"`
			}
			if err := c.do(ctx, http.MethodGet, ipath, q, nil, &page); err != nil {
				return 0, 0, err
			}
			for _, in := range page.Interests {
				out[i].Interests[in.Name] = in.ID
			}
			return len(page.Interests), page.TotalItems, nil
		})
		if err != nil {
			return nil, fmt.Errorf("list interests of category %s of audience %s: %w", cat.Title, listID, err)
		}
	}
	return out, nil
}

// MarketingPermission is one of an audience's GDPR marketing permissions.
type MarketingPermission struct {
	ID   string
	Text string
}

// MarketingPermissions returns the audience's GDPR marketing permissions.
// Mailchimp has no endpoint listing them: they are read from one member
// (every member carries all of them), so found is false when the audience
// has no member yet.
func (c *Client) MarketingPermissions(ctx context.Context, listID string) (perms []MarketingPermission, found bool, err error) {
	q := url.Values{"count": {"1"}, "fields": {"members.marketing_permissions,total_items"}}
	var page struct {
		Members []struct {
			Permissions []permissionJSON `json:"marketing_permissions"`
		} `json:"members"`
	}
	if err := c.do(ctx, http.MethodGet, "/lists/"+pathSegment(listID)+"/members", q, nil, &page); err != nil {
		return nil, false, fmt.Errorf("read the marketing permissions of audience %s: %w", listID, err)
	}
	if len(page.Members) == 0 {
		return nil, false, nil
	}
	for _, p := range page.Members[0].Permissions {
		perms = append(perms, MarketingPermission{ID: p.ID, Text: p.Text})
	}
	return perms, true, nil
}
