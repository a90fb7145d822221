package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/apmc"
)

func TestInstanceCreate(t *testing.T) {
	s := startStack(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string // empty: success
	}{
		{
			name: "defaults plus a birthday from DOB one way",
			args: s.createArgs("Shop One", "--map", "BIRTHDAY=DOB:birthday:accessplanit_to_mailchimp", "--map", "COMPANY=MainCompanyName:accessplanit_to_mailchimp"),
		},
		{
			name:    "bad Mailchimp key",
			args:    append(s.createArgs("Shop Two"), "--mailchimp-api-key", "wrongkey0123456789-us21"),
			wantErr: "Mailchimp rejected the API key",
		},
		{
			name:    "bad accessplanit key",
			args:    append(s.createArgs("Shop Two"), "--accessplanit-api-key", "wrongapkey0123456789"),
			wantErr: "accessplanit rejected the API key",
		},
		{
			name:    "birthday into DOB both ways",
			args:    s.createArgs("Shop Two", "--map", "BIRTHDAY=DOB:birthday"),
			wantErr: "cannot fill the date field DOB",
		},
		{
			name:    "unknown merge tag",
			args:    s.createArgs("Shop Two", "--map", "NOPE=Phone"),
			wantErr: "NOPE: the audience has no such merge field",
		},
		{
			name:    "merge field type differs",
			args:    s.createArgs("Shop Two", "--map", "BIRTHDAY=Phone:accessplanit_to_mailchimp"),
			wantErr: "must be birthday, not text",
		},
		{
			name:    "unknown accessplanit field",
			args:    s.createArgs("Shop Two", "--map", "COMPANY=Bogus"),
			wantErr: "accessplanit Users have no field Bogus",
		},
		{
			name:    "unknown audience",
			args:    s.createArgs("Shop Two", "--list", "nosuchlist"),
			wantErr: "no audience nosuchlist",
		},
		{
			name:    "bad mapping syntax",
			args:    s.createArgs("Shop Two", "--map", "PHONE=Phone:sometimes"),
			wantErr: "neither a type",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := s.apmc(t, tt.args...)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("apmc instance create error = %v, want success\nstderr: %s", err, errOut)
				}
				if !strings.Contains(out, "created (config version 1)") {
					t.Errorf("apmc instance create stdout = %q, want the new config version", out)
				}
			} else if t.Logf("error: %v", err); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("apmc instance create error = %v, want it to contain %q", err, tt.wantErr)
			}
			for _, secret := range []string{s.mcKey, s.apKey, "wrongkey0123456789", "wrongapkey0123456789"} {
				if strings.Contains(out+errOut+errString(err), secret) {
					t.Errorf("apmc instance create printed an API key %q", secret)
				}
			}
		})
	}

	in, err := s.Instances.Instance(context.Background(), "shop-one")
	if err != nil {
		t.Fatalf("Instance(shop-one) error = %v", err)
	}
	if in.MailchimpListID != s.mcListID || in.DefaultCompanyID != s.Info.Sandbox.Accessplanit.DefaultCompanyID || in.Direction != apmc.DirectionBoth {
		t.Errorf("created instance = list %s, company %s, direction %s; want the only audience %s, the only Account %s, both",
			in.MailchimpListID, in.DefaultCompanyID, in.Direction, s.mcListID, s.Info.Sandbox.Accessplanit.DefaultCompanyID)
	}
	if in.MailchimpAccountID == "" {
		t.Errorf("created instance's MailchimpAccountID is empty, want the account id from Mailchimp's API root")
	}
	sec := in.Secrets
	if sec.MailchimpAPIKey != s.mcKey || sec.AccessplanitAPIKey != s.apKey || len(sec.AccessplanitToken) < 32 || len(sec.MailchimpToken) < 32 || sec.AccessplanitToken == sec.MailchimpToken {
		t.Errorf("created instance's secrets are not the keys given and two distinct random tokens")
	}
	if len(in.Mappings) != 5 || in.Mappings[3].MergeTag != "BIRTHDAY" || in.Mappings[3].Direction != apmc.DirectionToMailchimp {
		t.Errorf("created instance's mappings = %+v, want the defaults, BIRTHDAY and COMPANY", in.Mappings)
	}
	if _, err := s.Instances.Display(context.Background(), "shop-two"); err == nil {
		t.Errorf("a refused create stored instance shop-two")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConfigureShowAndListNeverPrintSecrets(t *testing.T) {
	s := startStack(t)
	var printed strings.Builder
	record := func(out string) string { printed.WriteString(out); return out }

	record(s.must(t, s.createArgs("Shop", "--id", "shop", "--direction", "accessplanit_to_mailchimp")...))
	out := record(s.must(t, "instance", "configure", "shop", "--status-if-new", "pending"))
	if !strings.Contains(out, "config version 1 → 2") {
		t.Errorf("configure stdout = %q, want config version 1 → 2", out)
	}
	out = record(s.must(t, "instance", "configure", "shop", "--map", "PHONE=Mobile:phone", "--json"))
	var in apmc.Instance
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("configure --json output does not decode: %v\n%s", err, out)
	}
	if in.ConfigVersion != 3 || in.StatusIfNew != "pending" || in.Mappings[len(in.Mappings)-1].Field != "Mobile" {
		t.Errorf("configured instance = version %d status %s mappings %+v; want version 3, pending, PHONE from Mobile", in.ConfigVersion, in.StatusIfNew, in.Mappings)
	}
	_, _, err := s.apmc(t, "instance", "configure", "shop", "--map", "NOPE=Phone")
	if err == nil || !strings.Contains(err.Error(), "no such merge field") {
		t.Errorf("configure with an unknown tag error = %v, want it refused", err)
	}
	stored, err := s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatalf("Instance(shop) error = %v", err)
	}
	if stored.ConfigVersion != 3 || stored.Secrets.MailchimpAPIKey != s.mcKey {
		t.Errorf("stored after a refused configure = version %d, want 3 with the keys kept", stored.ConfigVersion)
	}

	for _, args := range [][]string{
		{"instance", "show", "shop"}, {"instance", "show", "shop", "--json"},
		{"instance", "list"}, {"instance", "list", "--json"},
		{"webhooks", "register", "shop"},
	} {
		out := record(s.must(t, args...))
		if !strings.Contains(out, "shop") {
			t.Errorf("apmc %s = %q, want it to name the instance", strings.Join(args, " "), out)
		}
	}
	show := s.must(t, "instance", "show", "shop")
	for _, want := range []string{"pending", "accessplanit_to_mailchimp", "Mobile", "config version"} {
		if !strings.Contains(show, want) {
			t.Errorf("instance show = %q, want it to contain %q", show, want)
		}
	}
	stored, err = s.Instances.Instance(context.Background(), "shop")
	if err != nil {
		t.Fatalf("Instance(shop) error = %v", err)
	}
	if stored.Secrets.MailchimpSigningSecret == "" {
		t.Fatal("webhooks register stored no signing secret")
	}
	for _, secret := range append(stored.Secrets.Values(), s.mcKey, s.apKey) {
		if strings.Contains(printed.String(), secret) {
			t.Errorf("a secret was printed (%d characters long)", len(secret))
		}
	}
}
