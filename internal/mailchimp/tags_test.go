package mailchimp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// UpdateTags sets tags active and inactive; Member reads every tag, also
// past the 50 a member answer carries.
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
	if err := c.UpdateTags(ctx, listID, "Ada@Example.com", changes); err != nil {
		t.Fatalf("UpdateTags() error = %v", err)
	}
	m, err := c.Member(ctx, listID, "ada@example.com")
	if err != nil || !slices.Equal(m.Tags, want) {
		t.Fatalf("Member() tags = %d %q (%v), want the 60 set", len(m.Tags), m.Tags, err)
	}
	if err := c.UpdateTags(ctx, listID, "ada@example.com", []apmc.TagChange{{Name: "tag 00"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := sim.Member(listID, "ada@example.com"); slices.Contains(got.Tags, "Tag 00") || len(got.Tags) != 59 {
		t.Errorf("after setting tag 00 inactive: %d tags %q", len(got.Tags), got.Tags)
	}
	written, err := c.UpsertMember(ctx, listID, apmc.Member{Email: "ada@example.com", MergeFields: apmc.Values{"FNAME": "Augusta"}}, "subscribed")
	if err != nil || len(written.Tags) != 59 {
		t.Errorf("UpsertMember() answer tags = %d (%v), want all 59", len(written.Tags), err)
	}
	if err := c.UpdateTags(ctx, listID, "nobody@example.com", []apmc.TagChange{{Name: "X", Active: true}}); !errors.Is(err, apmc.ErrNotFound) {
		t.Errorf("UpdateTags(unknown member) error = %v, want not found", err)
	}
}
