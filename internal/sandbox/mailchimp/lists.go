package mailchimp

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// MergeField describes one merge field of an audience.
type MergeField struct {
	Tag      string   `json:"tag"`  // e.g. FNAME
	Name     string   `json:"name"` // the label shown in Mailchimp
	Type     string   `json:"type"` // text, number, address, phone, date, birthday, zip, url, imageurl, radio, dropdown
	Required bool     `json:"required,omitempty"`
	Choices  []string `json:"choices,omitempty"` // radio and dropdown only
}

// defaultMergeFields are the fields every new audience has; Mailchimp
// documents exactly these four.
func defaultMergeFields() []MergeField {
	return []MergeField{
		{Tag: "FNAME", Name: "First Name", Type: "text"},
		{Tag: "LNAME", Name: "Last Name", Type: "text"},
		{Tag: "ADDRESS", Name: "Address", Type: "address"},
		{Tag: "PHONE", Name: "Phone Number", Type: "phone"},
	}
}

// list is one audience and everything in it.
type list struct {
	id, name, owner string
	webID           int
	created         time.Time
	mergeFields     []MergeField
	members         map[string]*Member // by subscriber hash
	// ordered holds the members in list order (signup time, then hash)
	// until the membership changes; nil means it is to be sorted again.
	ordered    []*Member
	compliance map[string]bool // subscriber hashes in compliance state
	forgotten  map[string]bool // subscriber hashes permanently deleted
	// categories are the audience's groups and permissions its GDPR
	// marketing permissions, in the order they were added.
	categories  []*interestCategory
	permissions []marketingPermission
	webhooks    []*webhook
	events      *eventQueue
}

// membersChanged forgets the list order after a member was added, removed
// or given another address; s.mu is held.
func (l *list) membersChanged() { l.ordered = nil }

// inOrder returns the members in list order, sorting them only after the
// membership changed, so paging through a large audience is not quadratic;
// s.mu is held and the slice is not to be changed.
func (l *list) inOrder() []*Member {
	if l.ordered == nil {
		l.ordered = make([]*Member, 0, len(l.members))
		for _, m := range l.members {
			l.ordered = append(l.ordered, m)
		}
		slices.SortFunc(l.ordered, func(a, b *Member) int {
			return cmp.Or(a.TimestampSignup.Compare(b.TimestampSignup), cmp.Compare(a.ID, b.ID))
		})
	}
	return l.ordered
}

func (l *list) mergeField(tag string) (MergeField, bool) {
	for _, f := range l.mergeFields {
		if f.Tag == tag {
			return f, true
		}
	}
	return MergeField{}, false
}

// AddList creates an audience owned by apiKey's account (adding the account
// if needed) with the default merge fields FNAME, LNAME, ADDRESS and PHONE
// followed by extra, and returns its id.
func (s *Server) AddList(apiKey, name string, extra ...MergeField) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[apiKey]; !ok {
		s.accounts[apiKey] = &account{}
	}
	l := &list{
		id:          newShortID(),
		name:        name,
		owner:       apiKey,
		webID:       s.newWebID(),
		created:     s.now().UTC(),
		mergeFields: append(defaultMergeFields(), extra...),
		members:     map[string]*Member{},
		compliance:  map[string]bool{},
		forgotten:   map[string]bool{},
		events:      newEventQueue(),
	}
	s.lists[l.id] = l
	s.listOrder = append(s.listOrder, l.id)
	if !s.closed {
		s.workers.Add(1)
		go s.deliverLoop(l.id, l.events)
	}
	return l.id
}

// newWebID returns the next numeric web id; s.mu is held.
func (s *Server) newWebID() int {
	s.nextWebID++
	return s.nextWebID
}

// ownList returns the audience listID if it belongs to key; s.mu is held.
func (s *Server) ownList(key, listID string) (*list, *apiError) {
	l, ok := s.lists[listID]
	if !ok || l.owner != key {
		return nil, errNotFound()
	}
	return l, nil
}

// page reads count (default 10, at most 1000) and offset from the query.
func page(r *http.Request) (count, offset int, err *apiError) {
	count, offset = 10, 0
	q := r.URL.Query()
	if v := q.Get("count"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 0 || n > 1000 {
			return 0, 0, errInvalid(FieldError{Field: "count", Message: "count must be an integer from 0 to 1000"})
		}
		count = n
	}
	if v := q.Get("offset"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 0 {
			return 0, 0, errInvalid(FieldError{Field: "offset", Message: "offset must be a non-negative integer"})
		}
		offset = n
	}
	return count, offset, nil
}

func (s *Server) getLists(w http.ResponseWriter, r *http.Request) {
	count, offset, perr := page(r)
	if perr != nil {
		writeProblem(w, perr)
		return
	}
	key := apiKeyFrom(r)
	s.mu.Lock()
	var owned []map[string]any
	for _, id := range s.listOrder {
		if l := s.lists[id]; l.owner == key {
			owned = append(owned, l.view())
		}
	}
	s.mu.Unlock()
	total := len(owned)
	lo, hi := min(offset, total), min(offset+count, total)
	writeJSON(w, map[string]any{
		"lists":       append([]map[string]any{}, owned[lo:hi]...),
		"total_items": total,
		"constraints": map[string]any{"may_create": true, "max_instances": 100, "current_total_instances": total},
		"_links":      []any{},
	})
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	var v map[string]any
	if aerr == nil {
		v = l.view()
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	writeJSON(w, v)
}

// view renders the audience as Mailchimp's List resource; s.mu is held.
func (l *list) view() map[string]any {
	var subscribed, unsubscribed, cleaned int
	for _, m := range l.members {
		switch m.Status {
		case "subscribed":
			subscribed++
		case "unsubscribed":
			unsubscribed++
		case "cleaned":
			cleaned++
		}
	}
	return map[string]any{
		"id":                    l.id,
		"web_id":                l.webID,
		"name":                  l.name,
		"contact":               map[string]any{"company": "Sandbox", "address1": "1 Sandbox Way", "address2": "", "city": "Atlanta", "state": "GA", "zip": "30308", "country": "US", "phone": ""},
		"permission_reminder":   "You signed up on our website.",
		"use_archive_bar":       false,
		"campaign_defaults":     map[string]any{"from_name": "Sandbox", "from_email": "sandbox@example.com", "subject": "", "language": "en"},
		"notify_on_subscribe":   "", // a string in Mailchimp's schema
		"notify_on_unsubscribe": "",
		"date_created":          l.created.Format(time.RFC3339),
		"list_rating":           0,
		"email_type_option":     false,
		"subscribe_url_short":   "https://eepurl.com/" + l.id,
		"subscribe_url_long":    fmt.Sprintf("https://sandbox.us21.list-manage.com/subscribe?u=sandbox&id=%s", l.id),
		"beamer_address":        "us21-sandbox-" + l.id + "@inbound.mailchimp.com",
		"visibility":            "pub",
		"double_optin":          false,
		"has_welcome":           false,
		"marketing_permissions": false,
		"modules":               []string{},
		"stats": map[string]any{
			"member_count":                 subscribed,
			"unsubscribe_count":            unsubscribed,
			"cleaned_count":                cleaned,
			"member_count_since_send":      subscribed,
			"unsubscribe_count_since_send": unsubscribed,
			"cleaned_count_since_send":     cleaned,
			"campaign_count":               0,
			"merge_field_count":            len(l.mergeFields),
			"avg_sub_rate":                 0,
			"avg_unsub_rate":               0,
			"target_sub_rate":              0,
			"open_rate":                    0,
			"click_rate":                   0,
			"total_contacts":               len(l.members),
		},
		"_links": []any{},
	}
}

func (s *Server) getMergeFields(w http.ResponseWriter, r *http.Request) {
	count, offset, perr := page(r)
	if perr != nil {
		writeProblem(w, perr)
		return
	}
	s.mu.Lock()
	l, aerr := s.ownList(apiKeyFrom(r), r.PathValue("list_id"))
	var fields []MergeField
	if aerr == nil {
		fields = append(fields, l.mergeFields...)
	}
	s.mu.Unlock()
	if aerr != nil {
		writeProblem(w, aerr)
		return
	}
	views := []map[string]any{}
	for i, f := range fields {
		if i < offset || len(views) >= count {
			continue
		}
		views = append(views, mergeFieldView(l.id, i+1, f))
	}
	writeJSON(w, map[string]any{
		"merge_fields": views,
		"list_id":      l.id,
		"total_items":  len(fields),
		"_links":       []any{},
	})
}

// mergeFieldView renders f as Mailchimp's MergeField resource.
func mergeFieldView(listID string, mergeID int, f MergeField) map[string]any {
	options := map[string]any{}
	switch f.Type {
	case "text":
		options["size"] = 25
	case "address":
		options["default_country"] = 164
	case "phone":
		options["phone_format"] = "none"
	case "birthday":
		options["date_format"] = "MM/DD"
	case "date":
		options["date_format"] = "YYYY-MM-DD"
	case "radio", "dropdown":
		options["choices"] = append([]string{}, f.Choices...)
	}
	return map[string]any{
		"merge_id":      mergeID,
		"tag":           f.Tag,
		"name":          f.Name,
		"type":          f.Type,
		"required":      f.Required,
		"default_value": "",
		"public":        true,
		"display_order": mergeID + 1,
		"options":       options,
		"help_text":     "",
		"list_id":       listID,
		"_links":        []any{},
	}
}
