package mailchimp

import (
	"fmt"
	"net/http"
	"time"
)

// ImportedMember is one member of an Import: data the audience held before
// an integration was switched on.
type ImportedMember struct {
	EmailAddress string         `json:"email_address"`
	Status       string         `json:"status"` // default subscribed
	MergeFields  map[string]any `json:"merge_fields"`
	// LastChanged defaults to the simulator's now.
	LastChanged time.Time `json:"last_changed,omitzero"`
}

// importStatuses are the statuses a member can be imported with.
var importStatuses = []string{"subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"}

// Import creates members, or silently updates existing ones, without firing
// any webhook: the state an audience had before the service was connected.
// Merge values are validated as Mailchimp validates them; nothing is
// imported when one member is refused.
func (s *Server) Import(listID string, members []ImportedMember) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lists[listID]
	if !ok {
		return fmt.Errorf("import: audience %s: %w", listID, ErrNotFound)
	}
	type staged struct {
		in     ImportedMember
		values map[string]any
	}
	var all []staged
	for i, in := range members {
		if in.Status == "" {
			in.Status = "subscribed"
		}
		if !contains(importStatuses, in.Status) {
			return fmt.Errorf("import: member %d: status %q is not one of %v", i, in.Status, importStatuses)
		}
		if aerr := checkEmail(in.EmailAddress); aerr != nil {
			return fmt.Errorf("import: member %d: %s", i, describe(aerr))
		}
		var current map[string]any
		if m, ok := l.members[SubscriberHash(in.EmailAddress)]; ok {
			current = m.MergeFields
		}
		values, aerr := l.mergeValues(current, in.MergeFields, current == nil)
		if aerr != nil {
			return fmt.Errorf("import: member %d: %s", i, describe(aerr))
		}
		all = append(all, staged{in, values})
	}
	now := s.now().UTC()
	for _, st := range all {
		changed := st.in.LastChanged.UTC()
		if changed.IsZero() {
			changed = now
		}
		hash := SubscriberHash(st.in.EmailAddress)
		m, ok := l.members[hash]
		if !ok {
			m = &Member{
				ID: hash, UniqueEmailID: newShortID(), ContactID: randomHex(16), WebID: s.newWebID(),
				ListID: l.id, EmailAddress: st.in.EmailAddress, EmailType: "html",
				Source: "Import", TimestampSignup: changed, TimestampOpt: changed,
			}
			l.members[hash] = m
			l.membersChanged()
		}
		m.Status, m.MergeFields, m.LastChanged = st.in.Status, st.values, changed
	}
	return nil
}

// controlImport is POST /_sandbox/lists/{list_id}/import: a JSON array of
// ImportedMember, imported without webhooks.
func (s *Server) controlImport(w http.ResponseWriter, r *http.Request) {
	var in []ImportedMember
	if err := decodeControl(r, &in); err != nil {
		controlError(w, err)
		return
	}
	if err := s.Import(r.PathValue("list_id"), in); err != nil {
		controlError(w, err)
		return
	}
	controlJSON(w, http.StatusOK, map[string]int{"imported": len(in)})
}
