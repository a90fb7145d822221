package apmc_test

import (
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// BenchmarkMapAndDiffOneContact measures what deciding one contact costs in
// CPU: mapping an accessplanit User to merge values, comparing them with the
// values last written, listing the changed tags and fingerprinting them.
func BenchmarkMapAndDiffOneContact(b *testing.B) {
	mappings := append(apmc.DefaultMappings(),
		apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone},
		apmc.FieldMapping{MergeTag: "BIRTHDAY", Field: "DOB", Type: apmc.TypeBirthday, Direction: apmc.DirectionToMailchimp},
		apmc.FieldMapping{MergeTag: "COMPANY", Field: "MainCompanyName", Direction: apmc.DirectionToMailchimp},
		apmc.FieldMapping{MergeTag: "REGION", Field: "CF_Region"})
	user := apmc.User{ID: "1042", UpdatedAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), Fields: map[string]string{
		"ID": "1042", "Forenames": "Ada", "Surname": "Lovelace", "Email": "Ada@Example.com", "Phone": "+44 20 7946 0000",
		"DOB": "1985-03-07T00:00:00", "MainCompanyName": "Analytical Engines Ltd", "CF_Region": "North", "JobTitle": "Analyst",
	}}
	last := apmc.Values{"EMAIL": "ada@example.com", "FNAME": "Augusta", "LNAME": "Lovelace", "PHONE": "+44 20 7946 0000",
		"BIRTHDAY": "03/07", "COMPANY": "Analytical Engines Ltd", "REGION": "North"}
	b.ReportAllocs()
	for b.Loop() {
		v, _, err := apmc.MapToMailchimp(mappings, user)
		if err != nil {
			b.Fatalf("MapToMailchimp() error = %v", err)
		}
		if v.Equal(last) {
			b.Fatalf("Equal() = true, want false (FNAME differs)")
		}
		if d := v.Diff(last); len(d) != 1 || d[0] != "FNAME" {
			b.Fatalf("Diff() = %v, want [FNAME]", d)
		}
		if fp := v.Fingerprint(); fp == "" {
			b.Fatalf("Fingerprint() is empty")
		}
	}
}
