package apmc

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// names are a member's tags as a member answer gives them (no dates).
func names(tags ...string) []MemberTag { return memberTagNames(tags) }

// owned are managed tags applied to a member known not to carry them.
func owned(tags ...string) []ManagedTag {
	var out []ManagedTag
	for _, t := range tags {
		out = append(out, ManagedTag{Name: t})
	}
	return out
}

func TestDecideTags(t *testing.T) {
	applied := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	before, after := applied.Add(-time.Hour), applied.Add(time.Second)
	tests := []struct {
		name string
		in   TagInput
		want TagPlan
	}{
		{
			name: "nothing desired, nothing managed",
			in:   TagInput{Current: names("VIP"), CurrentKnown: true},
			want: TagPlan{},
		},
		{
			name: "a new tag on a member known not to carry it is added and managed",
			in:   TagInput{Desired: []string{"Gold"}, Current: names("VIP"), CurrentKnown: true},
			want: TagPlan{Add: []string{"Gold"}, Managed: owned("Gold")},
		},
		{
			name: "unknown current: a new tag is added blind",
			in:   TagInput{Desired: []string{"Gold"}, Managed: owned("Silver")},
			want: TagPlan{Add: []string{"Gold"}, Blind: []string{"Gold"}, Remove: []string{"Silver"}, Managed: owned("Gold")},
		},
		{
			name: "a managed tag no longer desired goes inactive",
			in:   TagInput{Desired: []string{"Gold"}, Current: names("Gold", "Silver", "VIP"), CurrentKnown: true, Managed: owned("Gold", "Silver")},
			want: TagPlan{Remove: []string{"Silver"}, Managed: owned("Gold")},
		},
		{
			name: "a marketer's own tag is never removed",
			in:   TagInput{Desired: nil, Current: names("VIP"), CurrentKnown: true, Managed: nil},
			want: TagPlan{},
		},
		{
			name: "a marketer's tag with a desired name stays theirs",
			in:   TagInput{Desired: []string{"vip"}, Current: names("VIP"), CurrentKnown: true},
			want: TagPlan{},
		},
		{
			name: "a managed tag someone took off is set again",
			in:   TagInput{Desired: []string{"Gold"}, Current: nil, CurrentKnown: true, Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
			want: TagPlan{Add: []string{"Gold"}, Managed: owned("Gold")},
		},
		{
			name: "a managed tag already gone needs no write",
			in:   TagInput{Desired: nil, Current: names("VIP"), CurrentKnown: true, Managed: owned("Gold")},
			want: TagPlan{},
		},
		{
			name: "unknown current: managed tags not desired go inactive",
			in:   TagInput{Desired: []string{"Gold"}, Managed: owned("Gold", "Silver")},
			want: TagPlan{Remove: []string{"Silver"}, Managed: owned("Gold")},
		},
		{
			name: "unknown current: desired managed tags are left as they are, with their times",
			in:   TagInput{Desired: []string{"Gold"}, Managed: []ManagedTag{{Name: "gold", AppliedAt: applied}}},
			want: TagPlan{Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
		},
		{
			name: "a blind tag added no earlier than the service applied it is the service's: removed",
			in:   TagInput{Current: []MemberTag{{Name: "Gold", Added: applied}}, CurrentKnown: true, CurrentDated: true, Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
			want: TagPlan{Remove: []string{"Gold"}},
		},
		{
			name: "... also when someone took it off and added it again since",
			in:   TagInput{Current: []MemberTag{{Name: "Gold", Added: after}}, CurrentKnown: true, CurrentDated: true, Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
			want: TagPlan{Remove: []string{"Gold"}},
		},
		{
			name: "a blind tag the member carried before the service applied it is a marketer's: left, no longer managed; the desired one the dates show the service's is settled",
			in:   TagInput{Desired: []string{"Silver"}, Current: []MemberTag{{Name: "VIP", Added: before}, {Name: "Silver", Added: applied}}, CurrentKnown: true, CurrentDated: true, Managed: []ManagedTag{{Name: "vip", AppliedAt: applied}, {Name: "Silver", AppliedAt: applied}}},
			want: TagPlan{Managed: owned("Silver"), Disowned: []string{"vip"}},
		},
		{
			name: "a blind tag without a date_added is left (not known to be the service's)",
			in:   TagInput{Current: names("Gold"), CurrentKnown: true, CurrentDated: true, Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
			want: TagPlan{Disowned: []string{"Gold"}},
		},
		{
			name: "without dates a blind tag is kept, to be decided with them",
			in:   TagInput{Current: names("Gold"), CurrentKnown: true, Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
			want: TagPlan{Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}}},
		},
		{
			name: "a state stored before applied times (none): removed as the service's",
			in:   TagInput{Current: []MemberTag{{Name: "Gold", Added: before}}, CurrentKnown: true, CurrentDated: true, Managed: owned("Gold")},
			want: TagPlan{Remove: []string{"Gold"}},
		},
		{
			name: "added and removed in one change, dates read: one write carries both",
			in:   TagInput{Desired: []string{"Gold"}, Current: []MemberTag{{Name: "Silver", Added: after}}, CurrentKnown: true, CurrentDated: true, Managed: []ManagedTag{{Name: "Silver", AppliedAt: applied}}},
			want: TagPlan{Add: []string{"Gold"}, Remove: []string{"Silver"}, Managed: owned("Gold")},
		},
		{
			name: "duplicates count once",
			in:   TagInput{Desired: []string{"A", "a", "B"}, Current: nil, CurrentKnown: true},
			want: TagPlan{Add: []string{"A", "B"}, Managed: owned("A", "B")},
		},
		{
			name: "a retry finds a desired tag on the member, added since the change came: its own lost write",
			in:   TagInput{Desired: []string{"Gold", "Silver"}, Current: []MemberTag{{Name: "gold", Added: applied}}, CurrentKnown: true, CurrentDated: true, Since: before},
			want: TagPlan{Add: []string{"Silver"}, Managed: owned("Gold", "Silver")},
		},
		{
			name: "a retry finds a desired tag on the member, added before the change came: a marketer's, prefix or not",
			in:   TagInput{Desired: []string{"ap:Gold"}, Current: []MemberTag{{Name: "ap:Gold", Added: before.Add(-time.Second)}}, CurrentKnown: true, CurrentDated: true, Since: before, Prefix: "ap:"},
			want: TagPlan{},
		},
		{
			name: "a retry without the dates leaves a tag the member carries",
			in:   TagInput{Desired: []string{"Gold"}, Current: names("gold"), CurrentKnown: true, Since: before},
			want: TagPlan{},
		},
		{
			name: "a first attempt finds it: a marketer's",
			in:   TagInput{Desired: []string{"Gold"}, Current: names("gold"), CurrentKnown: true},
			want: TagPlan{},
		},
		{
			name: "prefixed tags are the service's: added without a read, not blind",
			in:   TagInput{Desired: []string{"ap:Gold", "Booked: X"}, Prefix: "AP:"},
			want: TagPlan{Add: []string{"ap:Gold", "Booked: X"}, Blind: []string{"Booked: X"}, Managed: owned("ap:Gold", "Booked: X")},
		},
		{
			name: "a prefixed tag applied blind is taken off without its dates",
			in:   TagInput{Managed: []ManagedTag{{Name: "ap:Gold", AppliedAt: applied}, {Name: "Silver", AppliedAt: applied}}, Prefix: "ap:"},
			want: TagPlan{Remove: []string{"ap:Gold"}, Managed: []ManagedTag{{Name: "Silver", AppliedAt: applied}}},
		},
		{
			name: "a prefixed tag applied blind and still desired is the service's from now on",
			in:   TagInput{Desired: []string{"ap:Gold"}, Managed: []ManagedTag{{Name: "ap:Gold", AppliedAt: applied}}, Prefix: "ap:"},
			want: TagPlan{Managed: owned("ap:Gold")},
		},
		{
			name: "a prefixed tag the member is known to carry already stays the marketer's",
			in:   TagInput{Desired: []string{"ap:Gold"}, Current: names("AP:GOLD"), CurrentKnown: true, Prefix: "ap:"},
			want: TagPlan{},
		},
		{
			name: "a prefixed tag someone took off is gone: not taken off again",
			in:   TagInput{Current: names("VIP"), CurrentKnown: true, Managed: []ManagedTag{{Name: "ap:Gold", AppliedAt: applied}}, Prefix: "ap:"},
			want: TagPlan{},
		},
		{
			name: "a tag merely starting like the prefix is not under it",
			in:   TagInput{Managed: []ManagedTag{{Name: "a", AppliedAt: applied}}, Prefix: "ap:"},
			want: TagPlan{Managed: []ManagedTag{{Name: "a", AppliedAt: applied}}},
		},
		{
			name: "a dated read settles the blind tags still desired: the service's when added no earlier",
			in: TagInput{
				Desired:      []string{"Gold", "Silver"},
				Current:      []MemberTag{{Name: "Gold", Added: applied}, {Name: "Silver", Added: before}, {Name: "Bronze", Added: after}},
				CurrentKnown: true, CurrentDated: true,
				Managed: []ManagedTag{{Name: "Gold", AppliedAt: applied}, {Name: "Silver", AppliedAt: applied}, {Name: "Bronze", AppliedAt: applied}},
			},
			want: TagPlan{Remove: []string{"Bronze"}, Managed: []ManagedTag{{Name: "Gold"}, {Name: "Silver", AppliedAt: applied}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideTags(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("DecideTags(%+v) differs (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestNeedsTagDates(t *testing.T) {
	applied := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	blind := []ManagedTag{{Name: "Gold", AppliedAt: applied}}
	tests := []struct {
		name string
		in   TagInput
		want bool
	}{
		{"nothing managed", TagInput{Desired: []string{"Gold"}}, false},
		{"additions only: written blind", TagInput{Desired: []string{"Gold", "Silver"}, Managed: blind}, false},
		{"a blind tag to take off, member not read", TagInput{Managed: blind}, true},
		{"a blind tag to take off, the member answer carries it", TagInput{Current: names("gold"), CurrentKnown: true, Managed: blind}, true},
		{"a blind tag already gone from the member", TagInput{Current: names("VIP"), CurrentKnown: true, Managed: blind}, false},
		{"dates read already", TagInput{Current: names("Gold"), CurrentKnown: true, CurrentDated: true, Managed: blind}, false},
		{"a tag applied to a member known not to carry it", TagInput{Managed: owned("Gold")}, false},
		{"a blind tag still desired", TagInput{Desired: []string{"GOLD"}, Managed: blind}, false},
		{"a retry finds a desired tag on the member", TagInput{Desired: []string{"Gold"}, Current: names("gold"), CurrentKnown: true, Since: applied}, true},
		{"a retry finds a desired tag it manages already", TagInput{Desired: []string{"Gold"}, Current: names("gold"), CurrentKnown: true, Managed: owned("Gold"), Since: applied}, false},
		{"a retry that has not read the member adds blind", TagInput{Desired: []string{"Gold"}, Since: applied}, false},
		{"a blind tag under the prefix: the service's", TagInput{Managed: []ManagedTag{{Name: "ap:Gold", AppliedAt: applied}}, Prefix: "ap:"}, false},
		{"a blind tag not under the prefix", TagInput{Managed: blind, Prefix: "ap:"}, true},
	}
	for _, tt := range tests {
		if got := NeedsTagDates(tt.in); got != tt.want {
			t.Errorf("%s: NeedsTagDates(%+v) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestTagPlanStamp(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 500, time.UTC)
	p := TagPlan{Add: []string{"Gold", "Silver"}, Blind: []string{"Gold"}, Managed: []ManagedTag{{Name: "Gold"}, {Name: "Silver"}, {Name: "Bronze", AppliedAt: at.Add(-time.Hour)}}}
	want := []ManagedTag{{Name: "Gold", AppliedAt: at.Truncate(time.Second)}, {Name: "Silver"}, {Name: "Bronze", AppliedAt: at.Add(-time.Hour)}}
	if diff := cmp.Diff(want, p.Stamp(at)); diff != "" {
		t.Errorf("Stamp(%v) differs (-want +got):\n%s", at, diff)
	}
	// The state keeps the times, and a state without them reads as tags
	// applied to members known not to carry them.
	s := SideState{}.withManagedTags(p.Stamp(at))
	if diff := cmp.Diff(want, ManagedTags(s)); diff != "" {
		t.Errorf("ManagedTags(withManagedTags()) differs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(owned("Gold"), ManagedTags(SideState{Tags: []string{"Gold"}})); diff != "" {
		t.Errorf("ManagedTags(a state without times) differs (-want +got):\n%s", diff)
	}
}

func TestContactTags(t *testing.T) {
	user := User{ID: "1", Tags: []string{" Gold ", "", "VIP"}}
	tests := []struct {
		name     string
		settings TagSettings
		activity []string
		want     []string
	}{
		{"off: activity only", TagSettings{}, []string{"Booked: First Aid"}, []string{"Booked: First Aid"}},
		{"on", TagSettings{Sync: true}, nil, []string{"Gold", "VIP"}},
		{"prefix on every managed tag", TagSettings{Sync: true, Prefix: "ap:"}, []string{"Booked: X"}, []string{"ap:Gold", "ap:VIP", "ap:Booked: X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ContactTags(Instance{Tags: tt.settings}, user, tt.activity)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ContactTags differs (-want +got):\n%s", diff)
			}
		})
	}
}
