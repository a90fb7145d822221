package apmc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecideTags(t *testing.T) {
	tests := []struct {
		name string
		in   TagInput
		want TagPlan
	}{
		{
			name: "nothing desired, nothing managed",
			in:   TagInput{Current: []string{"VIP"}, CurrentKnown: true},
			want: TagPlan{},
		},
		{
			name: "a new tag is added and managed",
			in:   TagInput{Desired: []string{"Gold"}, Current: []string{"VIP"}, CurrentKnown: true},
			want: TagPlan{Add: []string{"Gold"}, Managed: []string{"Gold"}},
		},
		{
			name: "a managed tag no longer desired goes inactive",
			in:   TagInput{Desired: []string{"Gold"}, Current: []string{"Gold", "Silver", "VIP"}, CurrentKnown: true, Managed: []string{"Gold", "Silver"}},
			want: TagPlan{Remove: []string{"Silver"}, Managed: []string{"Gold"}},
		},
		{
			name: "a marketer's own tag is never removed",
			in:   TagInput{Desired: nil, Current: []string{"VIP"}, CurrentKnown: true, Managed: nil},
			want: TagPlan{},
		},
		{
			name: "a marketer's tag with a desired name stays theirs",
			in:   TagInput{Desired: []string{"vip"}, Current: []string{"VIP"}, CurrentKnown: true},
			want: TagPlan{},
		},
		{
			name: "so it is not removed when no longer desired",
			in:   TagInput{Desired: nil, Current: []string{"VIP"}, CurrentKnown: true, Managed: nil},
			want: TagPlan{},
		},
		{
			name: "a managed tag someone took off is set again",
			in:   TagInput{Desired: []string{"Gold"}, Current: nil, CurrentKnown: true, Managed: []string{"Gold"}},
			want: TagPlan{Add: []string{"Gold"}, Managed: []string{"Gold"}},
		},
		{
			name: "a managed tag already gone needs no write",
			in:   TagInput{Desired: nil, Current: []string{"VIP"}, CurrentKnown: true, Managed: []string{"Gold"}},
			want: TagPlan{},
		},
		{
			name: "unknown current: managed tags not desired go inactive",
			in:   TagInput{Desired: []string{"Gold"}, Managed: []string{"Gold", "Silver"}},
			want: TagPlan{Remove: []string{"Silver"}, Managed: []string{"Gold"}},
		},
		{
			name: "unknown current: desired managed tags are left as they are",
			in:   TagInput{Desired: []string{"Gold"}, Managed: []string{"gold"}},
			want: TagPlan{Managed: []string{"Gold"}},
		},
		{
			name: "duplicates count once",
			in:   TagInput{Desired: []string{"A", "a", "B"}, Current: nil, CurrentKnown: true},
			want: TagPlan{Add: []string{"A", "B"}, Managed: []string{"A", "B"}},
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

func TestNeedsCurrent(t *testing.T) {
	tests := []struct {
		desired, managed []string
		want             bool
	}{
		{nil, nil, false},
		{[]string{"A"}, []string{"a"}, false},
		{[]string{"A", "B"}, []string{"A"}, true},
		{nil, []string{"A"}, false},
	}
	for _, tt := range tests {
		if got := NeedsCurrent(tt.desired, tt.managed); got != tt.want {
			t.Errorf("NeedsCurrent(%q, %q) = %v, want %v", tt.desired, tt.managed, got, tt.want)
		}
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
