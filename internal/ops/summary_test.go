package ops_test

import (
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/ops"
)

// The timeline's summary names the interests a group change selects and
// says when an opt-out unsubscribed the member, as recorded and as read
// back from the store.
func TestChangeSummaryOfGroupsAndOptOuts(t *testing.T) {
	for _, tt := range []struct {
		name  string
		steps []apmc.Step
		want  string
	}{
		{"group as recorded", []apmc.Step{{Name: "upsert_member", Output: map[string]any{
			"changed_fields": []string{"FNAME", "group:Departments"}, "groups": map[string]string{"group:Departments": "Sales, Support"}}}},
			"fields FNAME, group:Departments=Sales, Support"},
		{"group as read back", []apmc.Step{{Name: "upsert_member", Output: map[string]any{
			"changed_fields": []any{"group:Departments"}, "groups": map[string]any{"group:Departments": ""}}}},
			"fields group:Departments=(none)"},
		{"opt-out with a field change", []apmc.Step{
			{Name: "upsert_member", Output: map[string]any{"changed_fields": []string{"LNAME"}}},
			{Name: "unsubscribe_member", Output: map[string]any{"status": "unsubscribed"}}},
			"fields LNAME; opted out in accessplanit: member unsubscribed"},
		{"opt-out alone", []apmc.Step{{Name: "unsubscribe_member", Output: map[string]any{"status": "unsubscribed"}}},
			"opted out in accessplanit: member unsubscribed"},
		{"opt-out of no member", []apmc.Step{{Name: "unsubscribe_member", Output: map[string]any{"found": false}}},
			"opted out: not in Mailchimp, nothing to unsubscribe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ops.ChangeSummary(apmc.Execution{Steps: tt.steps}); got != tt.want {
				t.Errorf("ops.ChangeSummary() = %q, want %q", got, tt.want)
			}
		})
	}
}
