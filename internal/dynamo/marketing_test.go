package dynamo

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// The tag and training activity settings of an instance, and the tags and
// activity a contact state remembers, survive a round trip through the
// tables.
func TestTagsAndActivityAreStored(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		instances := NewInstanceStore(b.client, tables.Instances, sealer)
		in := testInstance("inst-tags")
		in.Tags = apmc.TagSettings{Sync: true, Prefix: "ap:"}
		in.Activity = apmc.ActivitySettings{Enabled: true, BookedTag: "{course} booked"}
		if err := instances.Create(ctx, in); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		got, err := instances.Instance(ctx, in.ID)
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		if got.Tags != in.Tags || got.Activity != in.Activity {
			t.Errorf("Instance() tags %+v, activity %+v; want %+v, %+v", got.Tags, got.Activity, in.Tags, in.Activity)
		}

		contacts := NewContactStore(b.client, tables.Contacts)
		at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		c := apmc.Contact{
			InstanceID: "inst-tags", Email: "ada@example.com", UserID: "7",
			Mailchimp: apmc.SideState{Values: apmc.Values{"EMAIL": "ada@example.com"}, Tags: []string{"ap:Gold", "ap:Booked: First Aid"}, TagsAppliedAt: map[string]time.Time{"ap:Gold": at}},
			Accessplanit: apmc.SideState{Activity: &apmc.Activity{
				Tags:   []string{"Booked: First Aid"},
				Fields: apmc.Values{apmc.TagNextCourse: "First Aid", apmc.TagNextDate: "2026-12-24", apmc.TagLastCourse: ""},
				ReadAt: at,
			}},
			UpdatedAt: at,
		}
		if err := contacts.SaveContact(ctx, c); err != nil {
			t.Fatalf("SaveContact error: %v", err)
		}
		stored, err := contacts.Contact(ctx, c.InstanceID, c.Email)
		if err != nil {
			t.Fatalf("Contact error: %v", err)
		}
		if diff := cmp.Diff(apmc.ManagedTags(c.Mailchimp), apmc.ManagedTags(stored.Mailchimp)); diff != "" {
			t.Errorf("stored managed tags differ (-want +got):\n%s", diff)
		}
		if !stored.Accessplanit.Activity.Equal(c.Accessplanit.Activity) || !stored.Accessplanit.Activity.ReadAt.Equal(at) {
			t.Errorf("stored activity = %+v, want %+v", stored.Accessplanit.Activity, c.Accessplanit.Activity)
		}
	})
}
