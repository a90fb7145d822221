package accessplanit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// odataString quotes s as an OData string literal: a quote is doubled.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// User returns the User with that ID; an unknown ID wraps apmc.ErrNotFound,
// and so does one that is not a User ID (see ValidUserID), without a request.
//
// ASSUMPTION: the documented form GET User?$filter=ID eq '{id}' is used
// rather than GET User/{id}, which may not exist.
func (c *Client) User(ctx context.Context, id string) (apmc.User, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return apmc.User{}, apmc.Invalidf("get accessplanit user: empty ID")
	}
	if !ValidUserID(id) {
		return apmc.User{}, errNoUser(fmt.Sprintf("%.70q", id))
	}
	body, _, err := c.do(ctx, http.MethodGet, "User", query{{"$filter", "ID eq " + odataString(id)}}, nil)
	if err != nil {
		return apmc.User{}, fmt.Errorf("get accessplanit user %s: %w", id, err)
	}
	users, err := decodeUsers(body)
	if err != nil {
		return apmc.User{}, fmt.Errorf("get accessplanit user %s: %w", id, err)
	}
	// Pick by ID rather than trusting the filter: a platform that ignored it
	// would answer every User.
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return apmc.User{}, errNoUser(id)
}

// UsersByEmail returns the Users with that email (compared without regard
// to case), the most recently updated first.
func (c *Client) UsersByEmail(ctx context.Context, email string) ([]apmc.User, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, apmc.Invalidf("find accessplanit users: empty email")
	}
	body, _, err := c.do(ctx, http.MethodGet, "User", query{{"$filter", "Email eq " + odataString(email)}}, nil)
	if err != nil {
		return nil, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	users, err := decodeUsers(body)
	if err != nil {
		return nil, fmt.Errorf("find accessplanit users by email: %w", err)
	}
	users = slices.DeleteFunc(users, func(u apmc.User) bool { return !strings.EqualFold(u.Email(), email) })
	slices.SortStableFunc(users, func(a, b apmc.User) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	return users, nil
}

// CreateUser creates a User with the given properties and returns it.
//
// ASSUMPTION: the body of the answer to POST User is not documented. It is
// read as the created User when it is one (it has DateUpdated); as the new
// ID when it is {"ID": …}, a bare number or string, or a Location header;
// and when it is empty, the User is found by its email. In the last two
// cases the User is read back with one more request.
func (c *Client) CreateUser(ctx context.Context, fields map[string]string) (apmc.User, error) {
	body, header, err := c.do(ctx, http.MethodPost, "User", nil, encodeFields(fields))
	if err != nil {
		return apmc.User{}, fmt.Errorf("create accessplanit user: %w", err)
	}
	u, id, err := createdUser(body, header)
	if err != nil {
		return apmc.User{}, fmt.Errorf("create accessplanit user: %w", err)
	}
	if u != nil {
		return *u, nil
	}
	if id != "" {
		got, err := c.User(ctx, id)
		if err != nil {
			return apmc.User{}, fmt.Errorf("create accessplanit user: read back: %w", err)
		}
		return got, nil
	}
	email := ""
	for k, v := range fields {
		if canonicalField(k) == apmc.FieldEmail {
			email = v
		}
	}
	if strings.TrimSpace(email) == "" {
		return apmc.User{}, errors.New("create accessplanit user: the answer named no user and there is no email to find it by")
	}
	users, err := c.UsersByEmail(ctx, email)
	if err != nil {
		return apmc.User{}, fmt.Errorf("create accessplanit user: find it by email: %w", err)
	}
	if len(users) == 0 {
		return apmc.User{}, errors.New("create accessplanit user: created, but not found by its email")
	}
	return users[0], nil
}

// idPattern is what a User ID looks like: accessplanit's IDs are numbers,
// and this also allows the letters, "_" and "-" of other ID formats, but
// nothing that would need quoting in a URL or an OData filter.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidUserID reports whether id is a plausible accessplanit User ID: 1 to
// 64 letters, digits, "_" or "-". The ingest refuses a delivery naming any
// other, and Users skips one, so a single bad ID cannot fail a whole batch.
func ValidUserID(id string) bool { return idPattern.MatchString(id) }

// createdUser reads the answer to POST User: the User itself, or its ID, or
// neither.
func createdUser(body []byte, header http.Header) (*apmc.User, string, error) {
	body = bytes.TrimSpace(body)
	if len(body) > 0 {
		switch body[0] {
		case '{':
			obj, err := decodeObject(body)
			if err != nil {
				return nil, "", err
			}
			if _, ok := lookup(obj, "results", "value"); ok {
				if items, err := decodeList(body); err == nil && len(items) == 1 {
					return createdUser(items[0], header)
				}
			}
			if _, ok := lookup(obj, "DateUpdated"); ok {
				u, err := userFromObject(obj)
				if err != nil {
					return nil, "", err
				}
				return &u, "", nil
			}
			for _, key := range []string{"ID", "UserID"} {
				if v, ok := lookup(obj, key); ok {
					if id, ok := normalise(v); ok && idPattern.MatchString(id) {
						return nil, id, nil
					}
				}
			}
		case '[':
			var items []json.RawMessage
			if err := json.Unmarshal(body, &items); err == nil && len(items) == 1 {
				return createdUser(items[0], header)
			}
		default:
			if id, ok := normalise(body); ok && idPattern.MatchString(id) {
				return nil, id, nil
			}
			if id := string(body); idPattern.MatchString(id) {
				return nil, id, nil
			}
		}
	}
	if loc := header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			if id := path.Base(u.Path); idPattern.MatchString(id) {
				return nil, id, nil
			}
		}
	}
	return nil, "", nil
}

// lookup finds the first of the named properties, ignoring case. An exact
// spelling wins; among other spellings the smallest key does, so the answer
// never depends on map order.
func lookup(obj map[string]json.RawMessage, names ...string) (json.RawMessage, bool) {
	for _, name := range names {
		if v, ok := obj[name]; ok {
			return v, true
		}
		best, found := "", false
		for k := range obj {
			if strings.EqualFold(k, name) && (!found || k < best) {
				best, found = k, true
			}
		}
		if found {
			return obj[best], true
		}
	}
	return nil, false
}

// UpdateUser sets the given properties of User id, and only those.
func (c *Client) UpdateUser(ctx context.Context, id string, fields map[string]string) error {
	id = strings.TrimSpace(id)
	if id == "" {
		return apmc.Invalidf("update accessplanit user: empty ID")
	}
	if len(fields) == 0 {
		return nil
	}
	if _, _, err := c.do(ctx, http.MethodPut, "User/"+url.PathEscape(id), nil, encodeFields(fields)); err != nil {
		return fmt.Errorf("update accessplanit user %s: %w", id, err)
	}
	return nil
}
