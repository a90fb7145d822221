package mailchimp

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// Member is the simulator's record of one audience member. Read helpers
// return copies; changing one changes nothing in the Server.
type Member struct {
	ID                string // the subscriber hash
	UniqueEmailID     string // the short id webhooks send as data[id]
	ContactID         string
	WebID             int
	ListID            string
	EmailAddress      string
	EmailType         string         // html or text
	Status            string         // subscribed, unsubscribed, cleaned, pending, transactional, archived
	MergeFields       map[string]any // set values by tag: string, float64 (number) or map[string]string (address)
	IPSignup, IPOpt   string
	Language          string
	VIP               bool
	Source            string // how the member was added: "API - Generic" or "Admin Add"
	UnsubscribeReason string
	TimestampSignup   time.Time
	TimestampOpt      time.Time
	LastChanged       time.Time
	// Interests are the member's interests by id (those it is in are
	// true); MarketingPermissions its GDPR answers by permission id.
	Interests            map[string]bool
	MarketingPermissions map[string]bool
	Tags                 []string // tag names, in the order they were added
	// TagsAdded are the tags' date_added, by lower-cased name: when each
	// was last added (adding a tag the member carries keeps its date).
	TagsAdded map[string]time.Time
}

// clone returns a deep copy of m.
func (m *Member) clone() Member {
	c := *m
	c.MergeFields = cloneMerges(m.MergeFields)
	c.Interests = maps.Clone(m.Interests)
	c.MarketingPermissions = maps.Clone(m.MarketingPermissions)
	c.Tags = slices.Clone(m.Tags)
	c.TagsAdded = maps.Clone(m.TagsAdded)
	return c
}

func cloneMerges(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		if addr, ok := v.(map[string]string); ok {
			v = maps.Clone(addr)
		}
		out[k] = v
	}
	return out
}

// Member returns the member of listID with email, if there is one.
func (s *Server) Member(listID, email string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return Member{}, false
	}
	m, ok := l.members[SubscriberHash(email)]
	if !ok {
		return Member{}, false
	}
	return m.clone(), true
}

// Members returns every member of listID, in no particular order.
func (s *Server) Members(listID string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return nil
	}
	out := make([]Member, 0, len(l.members))
	for _, m := range l.members {
		out = append(out, m.clone())
	}
	return out
}

// view renders m as Mailchimp's Member resource. Every merge field of the
// audience is present, empty ones as "" as Mailchimp does. s.mu is held.
func (l *list) memberView(m *Member) map[string]any {
	merges := map[string]any{}
	for _, f := range l.mergeFields {
		v, ok := m.MergeFields[f.Tag]
		if !ok {
			v = ""
		}
		merges[f.Tag] = v
	}
	v := map[string]any{
		"id":                               m.ID,
		"email_address":                    m.EmailAddress,
		"unique_email_id":                  m.UniqueEmailID,
		"contact_id":                       m.ContactID,
		"full_name":                        strings.TrimSpace(mergeString(m.MergeFields["FNAME"]) + " " + mergeString(m.MergeFields["LNAME"])),
		"web_id":                           m.WebID,
		"email_type":                       m.EmailType,
		"status":                           m.Status,
		"consents_to_one_to_one_messaging": true,
		"merge_fields":                     merges,
		"interests":                        l.interestsView(m),
		"stats":                            map[string]any{"avg_open_rate": 0, "avg_click_rate": 0},
		"ip_signup":                        m.IPSignup,
		"timestamp_signup":                 m.TimestampSignup.Format(time.RFC3339),
		"ip_opt":                           m.IPOpt,
		"member_rating":                    2,
		"last_changed":                     m.LastChanged.Format(time.RFC3339),
		"language":                         m.Language,
		"vip":                              m.VIP,
		"email_client":                     "",
		"source":                           m.Source,
		"tags_count":                       len(m.Tags),
		"tags":                             memberTagsView(m, maxTagsInMember),
		"list_id":                          m.ListID,
		"_links":                           []any{},
	}
	if !m.TimestampOpt.IsZero() {
		v["timestamp_opt"] = m.TimestampOpt.Format(time.RFC3339)
	}
	if len(l.permissions) > 0 {
		v["marketing_permissions"] = l.permissionsView(m)
	}
	if m.UnsubscribeReason != "" {
		v["unsubscribe_reason"] = m.UnsubscribeReason
	}
	return v
}

// mergeString renders a stored merge value as text.
func mergeString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return formatNumber(x)
	case map[string]string:
		parts := make([]string, 0, len(addressKeys))
		for _, k := range addressKeys {
			parts = append(parts, x[k])
		}
		return strings.Join(parts, "  ")
	default:
		return ""
	}
}
