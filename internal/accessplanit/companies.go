package accessplanit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// Company is an accessplanit Company (an "Account" in the platform's UI).
type Company struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// pageSize is how many items one list request asks for.
const pageSize = 500

// maxPages stops paging a platform that keeps answering full pages.
const maxPages = 1000

// Companies lists every Company, paging with $top and $skip.
func (c *Client) Companies(ctx context.Context) ([]Company, error) {
	var out []Company
	seen := map[string]bool{}
	for page := 0; page < maxPages; page++ {
		q := query{{"$select", "ID,Name"}, {"$orderby", "ID"}, {"$top", strconv.Itoa(pageSize)}, {"$skip", strconv.Itoa(page * pageSize)}}
		body, _, err := c.do(ctx, http.MethodGet, "Company", q, nil)
		if err != nil {
			return nil, fmt.Errorf("list accessplanit companies: %w", err)
		}
		items, err := decodeList(body)
		if err != nil {
			return nil, fmt.Errorf("list accessplanit companies: %w", err)
		}
		fresh := 0
		for _, item := range items {
			co, err := decodeCompany(item)
			if err != nil {
				return nil, fmt.Errorf("list accessplanit companies: %w", err)
			}
			if seen[co.ID] {
				continue // a platform ignoring $skip repeats itself
			}
			seen[co.ID] = true
			fresh++
			out = append(out, co)
		}
		if len(items) != pageSize || fresh == 0 {
			return out, nil
		}
	}
	return out, nil
}

func decodeCompany(raw json.RawMessage) (Company, error) {
	obj, err := decodeObject(raw)
	if err != nil {
		return Company{}, fmt.Errorf("decode company: %w", err)
	}
	var co Company
	if v, ok := lookup(obj, "ID"); ok {
		co.ID, _ = normalise(v)
	}
	if v, ok := lookup(obj, "Name"); ok {
		co.Name, _ = normalise(v)
	}
	if co.ID == "" {
		return Company{}, fmt.Errorf("decode company: no ID")
	}
	return co, nil
}
