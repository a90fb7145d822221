package accessplanit

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// maxIDsPerRequest bounds the IDs read in one request, so the query string
// stays well inside common URL limits (about 40 characters per ID).
//
// ASSUMPTION: the platform accepts a $filter of 50 "ID eq '…'" terms joined
// with "or"; OData allows it, and the platform's own documentation shows
// $filter with eq terms.
const maxIDsPerRequest = 50

// alwaysSelected are the User properties every read needs besides the mapped
// ones: identity, status, and the facts echo and order decisions read.
var alwaysSelected = []string{"ID", "Email", "Status", "DateUpdated", "UpdatedByID"}

// Users returns the Users with the given IDs, reading only the named
// properties (plus ID, Email, Status, DateUpdated and UpdatedByID), in as few
// requests as it can: one request per 50 IDs. IDs with no User are left out
// of the answer, and so are IDs that are not User IDs (see ValidUserID):
// they are skipped, not read, so one malformed ID does not fail the reads
// of the others. It returns the Users and the number of requests made.
func (c *Client) Users(ctx context.Context, ids []string, fields []string) ([]apmc.User, int, error) {
	selected := selectList(fields)
	var out []apmc.User
	requests := 0
	for filter, chunk := range idFilters("ID", ids) {
		q := query{{"$filter", filter}, {"$select", selected}}
		requests++
		body, _, err := c.do(ctx, http.MethodGet, "User", q, nil)
		if err != nil {
			return nil, requests, fmt.Errorf("read %d accessplanit users: %w", len(chunk), err)
		}
		users, err := decodeUsers(body)
		if err != nil {
			return nil, requests, fmt.Errorf("read %d accessplanit users: %w", len(chunk), err)
		}
		// Keep only the Users asked for: a platform that ignored the filter
		// would answer every User.
		for _, u := range users {
			if slices.Contains(chunk, u.ID) {
				out = append(out, u)
			}
		}
	}
	return out, requests, nil
}

// idFilters yields, for the distinct User IDs among ids (any that is not a
// User ID, see ValidUserID, left out, so one malformed ID does not fail the
// reads of the others), $filter values of "<property> eq '…'" terms joined
// with "or", maxIDsPerRequest terms at most, each with the IDs it selects.
func idFilters(property string, ids []string) iter.Seq2[string, []string] {
	var want []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if ValidUserID(id) && !slices.Contains(want, id) {
			want = append(want, id)
		}
	}
	return func(yield func(string, []string) bool) {
		for chunk := range slices.Chunk(want, maxIDsPerRequest) {
			terms := make([]string, len(chunk))
			for i, id := range chunk {
				terms[i] = property + " eq " + odataString(id)
			}
			if !yield(strings.Join(terms, " or "), chunk) {
				return
			}
		}
	}
}

// selectList is the $select value for the given properties: the always
// needed ones first, then the others in their canonical spelling, each once.
func selectList(fields []string) string {
	out := slices.Clone(alwaysSelected)
	for _, f := range fields {
		f = canonicalField(strings.TrimSpace(f))
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return strings.Join(out, ",")
}
