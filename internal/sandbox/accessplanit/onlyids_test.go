package accessplanit

import (
	"net/url"
	"slices"
	"testing"
)

func TestListQueryOnlyIDs(t *testing.T) {
	tests := []struct {
		filter string
		want   []int
		ok     bool
	}{
		{"ID eq 1002", []int{1002}, true},
		{"ID eq 1002 or ID eq 7", []int{1002, 7}, true},
		{"ID eq '1002' or ID eq '7'", []int{1002, 7}, true},
		{"ID eq 1002 or Forenames eq 'ada'", nil, false},
		{"ID eq 1002 and Forenames eq 'ada'", nil, false},
		{"ID gt 1002", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			q := url.Values{}
			if tt.filter != "" {
				q.Set("$filter", tt.filter)
			}
			lq, err := parseListQuery(q, userField)
			if err != nil {
				t.Fatalf("parseListQuery(%q) error = %v", tt.filter, err)
			}
			got, ok := lq.onlyIDs()
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("onlyIDs(%q) = %v, %v; want %v, %v", tt.filter, got, ok, tt.want, tt.ok)
			}
		})
	}
}
