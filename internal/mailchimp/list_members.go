package mailchimp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// MaxMembersPage is the most members one page read may ask for: Mailchimp's
// documented maximum count, refused above with a 400.
const MaxMembersPage = 1000

// memberPageFields are the parts of a members page the client reads; asking
// only for them keeps a page of 1,000 members small.
var memberPageFields = []string{"members.id", "members.email_address", "members.status", "members.last_changed", "members.contact_id", "members.interests", "members.marketing_permissions", "total_items"}

// membersPageJSON is the answer of GET /lists/{list_id}/members.
type membersPageJSON struct {
	Members    []memberJSON `json:"members"`
	TotalItems int          `json:"total_items"`
}

// MembersPage reads count members (1 to MaxMembersPage) of the audience
// from offset, and the number of members the read matches in all
// (total_items, regardless of paging). A non-zero sinceLastChanged keeps
// only members changed after it. mergeTags are the merge fields to read;
// nil reads every one. The answer is trimmed with fields= to what the
// client reads.
//
// INFERRED: Mailchimp's fields= dot notation reaches into merge_fields
// (members.merge_fields.FNAME) as it does into other objects; its
// documentation describes dot notation for sub-objects in general.
func (c *Client) MembersPage(ctx context.Context, listID string, offset, count int, sinceLastChanged time.Time, mergeTags []string) ([]apmc.Member, int, error) {
	if count < 1 || count > MaxMembersPage || offset < 0 {
		return nil, 0, apmc.Invalidf("read audience members: count %d and offset %d are out of range (count 1 to %d, offset 0 or more)", count, offset, MaxMembersPage)
	}
	fields := append([]string{}, memberPageFields...)
	if mergeTags == nil {
		fields = append(fields, "members.merge_fields")
	}
	for _, tag := range mergeTags {
		tag = strings.ToUpper(strings.TrimSpace(tag))
		if tag == "" || tag == apmc.TagEmail || strings.ContainsAny(tag, ",.:") {
			continue // EMAIL is email_address; groups and permissions are not merge fields; a comma or dot would break the list
		}
		fields = append(fields, "members.merge_fields."+tag)
	}
	q := url.Values{
		"count":  {strconv.Itoa(count)},
		"offset": {strconv.Itoa(offset)},
		"fields": {strings.Join(fields, ",")},
	}
	if !sinceLastChanged.IsZero() {
		q.Set("since_last_changed", sinceLastChanged.UTC().Format(time.RFC3339))
	}
	var page membersPageJSON
	if err := c.do(ctx, http.MethodGet, "/lists/"+pathSegment(listID)+"/members", q, nil, &page); err != nil {
		return nil, 0, fmt.Errorf("read audience members %d to %d: %w", offset+1, offset+count, err)
	}
	out := make([]apmc.Member, len(page.Members))
	for i, m := range page.Members {
		out[i] = m.toMember()
	}
	return out, page.TotalItems, nil
}
