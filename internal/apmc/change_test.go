package apmc

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestRecordedChange(t *testing.T) {
	occurred := t0.Add(-time.Minute)
	long := strings.Repeat("é", 2000)
	tests := []struct {
		name string
		in   Change
		want Change
	}{
		{
			name: "accessplanit delivery keeps the User's ID and email, not the User",
			in: Change{ID: "d1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, OccurredAt: occurred,
				User: apUser("42", "Ada", "Lovelace", "Ada@Example.com", t0)},
			want: Change{ID: "d1", InstanceID: "inst1", Source: SideAccessplanit, Event: EventUpdated, ReceivedAt: t0, OccurredAt: occurred,
				UserID: "42", Email: "ada@example.com"},
		},
		{
			name: "Mailchimp profile keeps its email, not the merges",
			in: Change{ID: "d2", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com",
				Merges: Values{"EMAIL": "ada@example.com", "FNAME": "Ada", "JUNK": long}},
			want: Change{ID: "d2", InstanceID: "inst1", Source: SideMailchimp, Event: EventProfile, ReceivedAt: t0, Email: "ada@example.com"},
		},
		{
			name: "email change and unsubscribe details, and a replay's first receipt, stay",
			in: Change{ID: "d3", InstanceID: "inst1", Source: SideMailchimp, Event: EventUnsubscribe, ReceivedAt: t0, Email: "new@example.com",
				OldEmail: "old@example.com", NewEmail: "new@example.com", Action: "unsub", Reason: "manual", DelegateID: "42~7",
				Origin: OriginReplay, OriginalExecutionID: "x1", PriorAttempts: 2, FirstReceivedAt: occurred},
			want: Change{ID: "d3", InstanceID: "inst1", Source: SideMailchimp, Event: EventUnsubscribe, ReceivedAt: t0, Email: "new@example.com",
				OldEmail: "old@example.com", NewEmail: "new@example.com", Action: "unsub", Reason: "manual", DelegateID: "42~7",
				Origin: OriginReplay, OriginalExecutionID: "x1", PriorAttempts: 2, FirstReceivedAt: occurred},
		},
		{
			name: "delivered text is cut short with a marker",
			in:   Change{ID: "d4", InstanceID: "inst1", Source: SideMailchimp, Event: EventUnsubscribe, Email: "ada@example.com", Action: long, Reason: long},
			want: Change{ID: "d4", InstanceID: "inst1", Source: SideMailchimp, Event: EventUnsubscribe, Email: "ada@example.com",
				Action: strings.Repeat("é", (maxRecordedText-len(truncatedMarker))/2) + truncatedMarker,
				Reason: strings.Repeat("é", (maxRecordedText-len(truncatedMarker))/2) + truncatedMarker},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.Recorded()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Recorded() mismatch (-want +got):\n%s", diff)
			}
			for _, s := range []string{got.ID, got.UserID, got.Email, got.OldEmail, got.NewEmail, got.Action, got.Reason, got.DelegateID, got.OriginalExecutionID} {
				if len(s) > maxRecordedText || !utf8.ValidString(s) {
					t.Errorf("Recorded() kept %d bytes (valid UTF-8 %v), want at most %d", len(s), utf8.ValidString(s), maxRecordedText)
				}
			}
		})
	}
}
