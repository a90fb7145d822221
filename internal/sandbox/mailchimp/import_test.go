package mailchimp

import (
	"strings"
	"testing"
	"time"
)

func TestImportIsSilentAndAllOrNothing(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	e.register(t, rc, "/all", map[string]bool{"user": true, "admin": true, "api": true})
	s, list := e.srv, e.listID
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	err := s.Import(list, []ImportedMember{
		{EmailAddress: "ada@example.com", MergeFields: map[string]any{"FNAME": "Ada"}, LastChanged: at},
		{EmailAddress: "gone@example.com", Status: "unsubscribed"},
	})
	if err != nil {
		t.Fatalf("Import() error = %v", err)
	}
	m, ok := s.Member(list, "ada@example.com")
	if !ok || m.Status != "subscribed" || m.MergeFields["FNAME"] != "Ada" || !m.LastChanged.Equal(at) || m.ContactID == "" {
		t.Errorf("imported member = %+v, %v; want subscribed, FNAME Ada, last changed %v, a contact id", m, ok, at)
	}
	if !s.WaitWebhooks(5*time.Second) || len(rc.deliveries()) != 0 {
		t.Errorf("webhook deliveries after an import = %d, want 0", len(rc.deliveries()))
	}
	// One bad member refuses the whole import.
	err = s.Import(list, []ImportedMember{{EmailAddress: "new@example.com"}, {EmailAddress: "not-an-email"}})
	if err == nil || !strings.Contains(err.Error(), "member 1") {
		t.Fatalf("Import(bad) error = %v, want member 1 named", err)
	}
	if _, ok := s.Member(list, "new@example.com"); ok {
		t.Error("a refused import created a member")
	}
	if err := s.Import(list, []ImportedMember{{EmailAddress: "x@example.com", Status: "vip"}}); err == nil {
		t.Error("Import(status vip) = nil error, want refused")
	}
}
