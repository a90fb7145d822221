package apmc_test

import (
	"slices"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestMappedFields(t *testing.T) {
	tests := []struct {
		name string
		ms   []apmc.FieldMapping
		want []string
	}{
		{"none", nil, nil},
		{"the defaults", apmc.DefaultMappings(), []string{apmc.FieldEmail, apmc.FieldForenames, apmc.FieldSurname}},
		{"a property mapped twice, and one direction only", []apmc.FieldMapping{
			{MergeTag: "EMAIL", Field: "Email"},
			{MergeTag: "PHONE", Field: "CF_Phone", Type: apmc.TypePhone},
			{MergeTag: "MOBILE", Field: "CF_Phone", Type: apmc.TypePhone},
			{MergeTag: "SOURCE", Field: "CF_Source", Direction: apmc.DirectionToAccessplanit},
		}, []string{"Email", "CF_Phone", "CF_Source"}},
	}
	for _, tt := range tests {
		if got := apmc.MappedFields(tt.ms); !slices.Equal(got, tt.want) {
			t.Errorf("MappedFields(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
