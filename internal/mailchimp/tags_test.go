package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// UpdateTags sets tags active and inactive; Member, a write's answer, a
// batch subscribe's and an email change's read every tag, also past the 50
// a member answer carries.
func TestUpdateTagsAndReadThemAll(t *testing.T) {
	sim, listID, c := audience(t)
	ctx := context.Background()
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Ada"}}, "subscribed"); err != nil {
		t.Fatal(err)
	}
	var want []string
	var changes []apmc.TagChange
	for i := range 60 {
		name := fmt.Sprintf("Tag %02d", i)
		want = append(want, name)
		changes = append(changes, apmc.TagChange{Name: name, Active: true})
	}
	changes = append(changes, apmc.TagChange{Name: "Never there"})
	if _, err := c.UpdateTags(ctx, listID, "Ada@Example.com", changes); err != nil {
		t.Fatalf("UpdateTags() error = %v", err)
	}
	m, err := c.Member(ctx, listID, "ada@example.com")
	if err != nil || !slices.Equal(m.Tags, want) {
		t.Fatalf("Member() tags = %d %q (%v), want the 60 set", len(m.Tags), m.Tags, err)
	}
	if _, err := c.UpdateTags(ctx, listID, "ada@example.com", []apmc.TagChange{{Name: "tag 00"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.Member(listID, "ada@example.com"); slices.Contains(got.Tags, "Tag 00") || len(got.Tags) != 59 {
		t.Errorf("after setting tag 00 inactive: %d tags %q", len(got.Tags), got.Tags)
	}
	written, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Augusta"}}, "subscribed")
	if err != nil || len(written.Tags) != 59 {
		t.Errorf("UpsertMember() answer tags = %d (%v), want all 59", len(written.Tags), err)
	}
	batch, _, err := c.UpsertMembers(ctx, listID, []apmc.Member{{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Ada"}}}, "subscribed")
	if got := batch["ada@example.com"].Tags; err != nil || len(got) != 59 {
		t.Errorf("UpsertMembers() answer tags = %d (%v), want all 59", len(got), err)
	}
	moved, err := c.ChangeEmail(ctx, listID, "ada@example.com", "augusta@example.com")
	if err != nil || len(moved.Tags) != 59 {
		t.Errorf("ChangeEmail() answer tags = %d (%v), want all 59", len(moved.Tags), err)
	}
	if _, err := c.UpdateTags(ctx, listID, "nobody@example.com", []apmc.TagChange{{Name: "X", Active: true}}); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("UpdateTags(unknown member) error = %v, want not found", err)
	}
}

// UpdateTags answers when Mailchimp applied the tags, by its clock and no
// later than the date_added of the tags it added; MemberTags reads those
// dates, and a tag set active again keeps its own.
func TestUpdateTagsAnswersWhenMailchimpAppliedThem(t *testing.T) {
	_, listID, c := audience(t)
	ctx := context.Background()
	if _, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com"}, "subscribed"); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Truncate(time.Second)
	gold, err := c.UpdateTags(ctx, listID, "ada@example.com", []apmc.TagChange{{Name: "Gold", Active: true}})
	if err != nil {
		t.Fatalf("UpdateTags() error = %v", err)
	}
	if gold.Before(before.Add(-time.Second)) || gold.After(time.Now()) {
		t.Errorf("UpdateTags() = %v, want a time of the call (from %v)", gold, before)
	}
	time.Sleep(2100 * time.Millisecond) // date_added has whole seconds, the answer a second less
	silver, err := c.UpdateTags(ctx, listID, "ada@example.com", []apmc.TagChange{{Name: "gold", Active: true}, {Name: "Silver", Active: true}})
	if err != nil {
		t.Fatalf("UpdateTags() error = %v", err)
	}
	tags, err := c.MemberTags(ctx, listID, "ada@example.com")
	if err != nil || len(tags) != 2 {
		t.Fatalf("MemberTags() = %+v, %v; want Gold and Silver", tags, err)
	}
	if tags[0].Name != "Gold" || tags[0].Added.Before(gold) || !tags[0].Added.Before(silver) {
		t.Errorf("Gold added %v, want from %v (its first write) and before %v (set again, kept)", tags[0].Added, gold, silver)
	}
	if tags[1].Name != "Silver" || tags[1].Added.Before(silver) {
		t.Errorf("Silver added %v, want not before %v", tags[1].Added, silver)
	}
	if _, err := c.MemberTags(ctx, listID, "nobody@example.com"); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("MemberTags(unknown member) error = %v, want not found", err)
	}
}

func TestAnsweredAt(t *testing.T) {
	wrote := time.Now().Add(-300 * time.Millisecond)
	date := time.Date(2026, 12, 1, 9, 0, 5, 0, time.UTC)
	tests := []struct {
		name   string
		header http.Header
		want   time.Time
	}{
		{"the answer's Date less the request's time, to the second below", http.Header{"Date": {date.Format(http.TimeFormat)}}, date.Add(-time.Second)},
		{"no Date: the service's clock when the request was written", http.Header{}, wrote.UTC().Truncate(time.Second)},
		{"a Date that does not parse: the same", http.Header{"Date": {"yesterday"}}, wrote.UTC().Truncate(time.Second)},
	}
	for _, tt := range tests {
		if got := answeredAt(tt.header, wrote); !got.Equal(tt.want) {
			t.Errorf("%s: answeredAt(%v) = %v, want %v", tt.name, tt.header, got, tt.want)
		}
	}
}
