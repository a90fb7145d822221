package mailchimp

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// SubscriberHash is Mailchimp's id of a member in an audience: the lower-case
// hex MD5 of the lower-cased email address.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(apmc.NormaliseEmail(email)))
	return hex.EncodeToString(sum[:])
}

// memberJSON is the part of Mailchimp's member resource the client reads.
type memberJSON struct {
	ID           string                     `json:"id"`
	EmailAddress string                     `json:"email_address"`
	Status       string                     `json:"status"`
	MergeFields  map[string]json.RawMessage `json:"merge_fields"`
	ContactID    string                     `json:"contact_id"`
	LastChanged  string                     `json:"last_changed"`
	Interests    map[string]bool            `json:"interests"`
	Permissions  []permissionJSON           `json:"marketing_permissions"`
	// Tags are the first 50 of the member's tags; TagsCount counts all.
	Tags      []tagJSON `json:"tags"`
	TagsCount int       `json:"tags_count"`
}

// permissionJSON is one of a member's GDPR marketing permissions; a write
// sends only the id and enabled.
type permissionJSON struct {
	ID      string `json:"marketing_permission_id"`
	Text    string `json:"text,omitempty"`
	Enabled bool   `json:"enabled"`
}

// toMember converts an answer to the domain's member. Merge values become
// text (numbers as written, an address object joined like a webhook's);
// empty values are left out, as the mapping leaves them out; EMAIL is added
// from email_address, lower-cased, so the values compare with mapped ones.
func (m memberJSON) toMember() apmc.Member {
	out := apmc.Member{ID: m.ID, Email: apmc.NormaliseEmail(m.EmailAddress), Status: m.Status, MergeFields: apmc.Values{}, ContactID: m.ContactID}
	// Mailchimp writes times in ISO 8601 with an offset; an unreadable one
	// is left unknown rather than failing the read.
	if t, err := time.Parse(time.RFC3339, m.LastChanged); err == nil {
		out.LastChanged = t.UTC()
	}
	if out.ID == "" && out.Email != "" {
		out.ID = SubscriberHash(out.Email)
	}
	for tag, raw := range m.MergeFields {
		if v := mergeText(raw); v != "" {
			out.MergeFields[tag] = v
		}
	}
	if out.Email != "" {
		out.MergeFields[apmc.TagEmail] = out.Email
	}
	if len(m.Interests) > 0 {
		out.Interests = m.Interests
	}
	for _, p := range m.Permissions {
		if out.MarketingPermissions == nil {
			out.MarketingPermissions = map[string]bool{}
		}
		out.MarketingPermissions[p.ID] = p.Enabled
	}
	for _, t := range m.Tags {
		out.Tags = append(out.Tags, t.Name)
	}
	return out
}

// mergeText renders one merge value as text.
func mergeText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		parts := map[string]string{}
		for k, v := range obj {
			switch x := v.(type) {
			case string:
				parts[k] = x
			case float64:
				parts[k] = fmt.Sprint(x)
			}
		}
		return joinAddress(parts)
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return fmt.Sprint(b)
	}
	return ""
}

// Member returns the audience member with that email; none wraps
// apmc.ErrNotFound.
func (c *Client) Member(ctx context.Context, listID, email string) (apmc.Member, error) {
	hash := SubscriberHash(email)
	var m memberJSON
	if err := c.do(ctx, http.MethodGet, memberPath(listID, hash), nil, nil, &m); err != nil {
		return apmc.Member{}, fmt.Errorf("get member %s: %w", hash, err)
	}
	return c.withAllTags(ctx, listID, m)
}

// MemberByContactID returns the audience member with that contact_id
// (Mailchimp takes it in place of the subscriber hash), whatever its
// address now, with the tags its answer lists (one call); none wraps
// apmc.ErrNotFound.
func (c *Client) MemberByContactID(ctx context.Context, listID, contactID string) (apmc.Member, error) {
	if contactID == "" {
		return apmc.Member{}, fmt.Errorf("get member by contact id: no contact id: %w", apmc.ErrNotFound)
	}
	var m memberJSON
	if err := c.do(ctx, http.MethodGet, memberPath(listID, pathSegment(contactID)), nil, nil, &m); err != nil {
		return apmc.Member{}, fmt.Errorf("get member by contact id: %w", err)
	}
	return m.toMember(), nil
}

// upsertBody is the PUT body. It never carries status: an existing member's
// status is never changed, and sending status with status_if_new also makes
// the body match both branches of the published schema's oneOf.
type upsertBody struct {
	EmailAddress string            `json:"email_address"`
	StatusIfNew  string            `json:"status_if_new"`
	MergeFields  map[string]string `json:"merge_fields,omitempty"`
	Interests    map[string]bool   `json:"interests,omitempty"`
	Permissions  []permissionJSON  `json:"marketing_permissions,omitempty"`
}

// UpsertMember creates or updates the member with m.Email (or, when empty,
// m.MergeFields["EMAIL"]). A new member gets statusIfNew; an existing
// member's status is left alone (m.Status is never sent). EMAIL is not sent
// as a merge field: the address is the member's identity. m.Interests and
// m.MarketingPermissions are sent as they are: only those they name change.
func (c *Client) UpsertMember(ctx context.Context, listID string, m apmc.Member, statusIfNew string) (apmc.Member, error) {
	email := memberEmail(m)
	if email == "" {
		return apmc.Member{}, apmc.Invalidf("upsert member: no email address")
	}
	if err := checkStatusIfNew(statusIfNew); err != nil {
		return apmc.Member{}, fmt.Errorf("upsert member: %w", err)
	}
	hash := SubscriberHash(email)
	body := upsertBody{EmailAddress: email, StatusIfNew: statusIfNew, MergeFields: mergeFieldsToSend(m.MergeFields), Interests: m.Interests, Permissions: permissionsToSend(m.MarketingPermissions)}

	var out memberJSON
	if err := c.do(ctx, http.MethodPut, memberPath(listID, hash), nil, body, &out); err != nil {
		return apmc.Member{}, fmt.Errorf("upsert member %s: %w", hash, err)
	}
	return c.withAllTags(ctx, listID, out)
}

// memberEmail is m's address, lower-cased: m.Email, or else its EMAIL
// merge field.
func memberEmail(m apmc.Member) string {
	if email := apmc.NormaliseEmail(m.Email); email != "" {
		return email
	}
	return apmc.NormaliseEmail(m.MergeFields[apmc.TagEmail])
}

// checkStatusIfNew refuses a status a new member cannot be given.
func checkStatusIfNew(status string) error {
	switch status {
	case "subscribed", "unsubscribed", "cleaned", "pending", "transactional":
		return nil
	}
	return apmc.Invalidf("status for new members %q is not one of subscribed, unsubscribed, cleaned, pending, transactional", status)
}

// mergeFieldsToSend are the merge values of a write: every one but EMAIL,
// which is the member's identity, not a field, and the values of groups and
// marketing permissions, which are sent as interests and permissions; nil
// when there are none.
func mergeFieldsToSend(values apmc.Values) map[string]string {
	var out map[string]string
	for tag, v := range values {
		if tag == apmc.TagEmail || strings.HasPrefix(tag, apmc.GroupPrefix) || strings.HasPrefix(tag, apmc.PermissionPrefix) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[tag] = v
	}
	return out
}

// Unsubscribe sets the member's status to unsubscribed (a PATCH), for an
// opt-out made in accessplanit. It is the one status the client ever sets:
// nothing it does subscribes anyone again. A member no longer in the
// audience is a blocked contact that also wraps apmc.ErrNotFound (see
// memberGone).
func (c *Client) Unsubscribe(ctx context.Context, listID, email string) (apmc.Member, error) {
	hash := SubscriberHash(email)
	body := struct {
		Status string `json:"status"`
	}{"unsubscribed"}
	var out memberJSON
	if err := c.do(ctx, http.MethodPatch, memberPath(listID, hash), nil, body, &out); err != nil {
		return apmc.Member{}, fmt.Errorf("unsubscribe member %s: %w", hash, c.memberGone(ctx, listID, err))
	}
	return out.toMember(), nil
}

// ChangeEmail moves the member at oldEmail to newEmail (a PATCH of the
// member at the old address's hash). A member no longer in the audience is
// a blocked contact that also wraps apmc.ErrNotFound (see memberGone).
func (c *Client) ChangeEmail(ctx context.Context, listID, oldEmail, newEmail string) (apmc.Member, error) {
	newEmail = apmc.NormaliseEmail(newEmail)
	if newEmail == "" {
		return apmc.Member{}, apmc.Invalidf("change member email: new address is empty")
	}
	hash := SubscriberHash(oldEmail)
	body := struct {
		EmailAddress string `json:"email_address"`
	}{newEmail}
	var out memberJSON
	if err := c.do(ctx, http.MethodPatch, memberPath(listID, hash), nil, body, &out); err != nil {
		return apmc.Member{}, fmt.Errorf("change email of member %s: %w", hash, c.memberGone(ctx, listID, err))
	}
	return c.withAllTags(ctx, listID, out)
}

func memberPath(listID, hash string) string {
	return "/lists/" + pathSegment(listID) + "/members/" + hash
}

// permissionsToSend are the marketing permissions of a write, in id order;
// nil when there are none.
func permissionsToSend(p map[string]bool) []permissionJSON {
	var out []permissionJSON
	for _, id := range slices.Sorted(maps.Keys(p)) {
		out = append(out, permissionJSON{ID: id, Enabled: p[id]})
	}
	return out
}
