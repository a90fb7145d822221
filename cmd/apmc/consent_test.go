package main

import (
	"context"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestConfigureGroupsPermissionsAndConsent(t *testing.T) {
	s := startStack(t)
	s.must(t, s.createArgs("Shop One")...)
	dept, err := s.Mailchimp.AddInterestCategory(s.mcListID, "Departments", "checkboxes")
	if err != nil {
		t.Fatal(err)
	}
	sales, _ := s.Mailchimp.AddInterest(s.mcListID, dept, "Sales")
	perm, _ := s.Mailchimp.AddMarketingPermission(s.mcListID, "Email")

	tests := []struct {
		name       string
		args       []string
		wantErr    string
		wantStderr string
	}{
		{"a permission before the audience has a member", []string{"--map", "permission:" + perm + "=MarketingOptIn"}, "no member to read its marketing permissions from", "no member to read its marketing permissions from"},
		{"a group the audience does not have", []string{"--map", "group:Regions=JobTitle"}, `no interest category "Regions" (it has Departments)`, `group "Departments" (checkboxes): Sales`},
		{"a group", []string{"--map", "group:departments=JobTitle"}, "", `group "Departments" (checkboxes): Sales`},
		{"a bad not-opted-in setting", []string{"--not-opted-in", "maybe"}, "not_opted_in", ""},
		{"a status field the platform sets", []string{"--mailchimp-status-field", "DateUpdated"}, "the platform sets it", ""},
		{"an unknown custom status field", []string{"--mailchimp-status-field", "CF_Nope"}, "no User custom field", ""},
		{"consent", []string{"--double-opt-in", "--optouts-to-mailchimp", "--mailchimp-status-field", "ExternalID"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := s.apmc(t, append([]string{"instance", "configure", "shop-one"}, tt.args...)...)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("apmc instance configure %v error = %v, want %q\nstdout: %s\nstderr: %s", tt.args, err, tt.wantErr, out, errOut)
			}
			if !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("apmc instance configure %v stderr = %q, want it to contain %q", tt.args, errOut, tt.wantStderr)
			}
		})
	}
	in, err := s.Instances.Display(context.Background(), "shop-one")
	if err != nil {
		t.Fatal(err)
	}
	i := len(in.Mappings) - 1
	if g := in.Mappings[i]; g.MergeTag != apmc.GroupPrefix+"Departments" || g.Group == nil || g.Group.CategoryID != dept || g.Group.Interests["Sales"] != sales {
		t.Errorf("stored group mapping = %+v, want Departments resolved to its category and interests", g)
	}
	if c := in.Consent; c == nil || !c.DoubleOptIn || !c.OptoutsToMailchimp || c.OptoutsToAccessplanit {
		t.Errorf("stored consent = %+v, want double opt-in and opt-outs to Mailchimp", c)
	}
	if in.MailchimpStatusField != "ExternalID" {
		t.Errorf("stored mailchimp_status_field = %q, want ExternalID", in.MailchimpStatusField)
	}
	if out := s.must(t, "instance", "show", "shop-one"); !strings.Contains(out, "opted in → pending (double opt-in)") || !strings.Contains(out, "group:Departments") {
		t.Errorf("apmc instance show = %s, want the consent settings and the group mapping", out)
	}

	// With a member, the permission can be read and mapped.
	if err := s.Mailchimp.SubscribeInUI(s.mcListID, "reader@example.com", map[string]any{"FNAME": "R", "LNAME": "S"}); err != nil {
		t.Fatal(err)
	}
	s.must(t, "instance", "configure", "shop-one", "--map", "permission:"+perm+"=MarketingOptIn")
	if _, errOut, err := s.apmc(t, "instance", "configure", "shop-one", "--map", "permission:nope=MarketingOptIn"); err == nil || !strings.Contains(err.Error(), "no such marketing permission") {
		t.Errorf("mapping an unknown permission: error = %v, stderr %s; want it refused", err, errOut)
	}
	s.must(t, "instance", "configure", "shop-one", "--consent=false", "--unmap", "GROUP:Departments")
	in, _ = s.Instances.Display(context.Background(), "shop-one")
	if in.Consent != nil || len(in.Mappings) != 4 {
		t.Errorf("after --consent=false and the unmap: consent %+v, mappings %+v", in.Consent, in.Mappings)
	}
}
