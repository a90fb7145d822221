package apmc

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestInstanceValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Instance)
		wantErr string
	}{
		{name: "valid", mutate: func(*Instance) {}},
		{name: "plain http refused", mutate: func(in *Instance) { in.AccessplanitBaseURL = "http://example.accessplanit.com/x/api/v2/" }, wantErr: "must use https"},
		{name: "credentials in URL refused", mutate: func(in *Instance) { in.AccessplanitBaseURL = "https://u:p@example.com/api/v2/" }, wantErr: "credentials"},
		{name: "missing URL", mutate: func(in *Instance) { in.AccessplanitBaseURL = "" }, wantErr: "accessplanit_base_url is required"},
		{name: "bad direction", mutate: func(in *Instance) { in.Direction = "sideways" }, wantErr: "direction"},
		{name: "bad status", mutate: func(in *Instance) { in.StatusIfNew = "cleaned" }, wantErr: "status_if_new"},
		{name: "no default account for two-way", mutate: func(in *Instance) { in.DefaultCompanyID = "" }, wantErr: "default_company_id"},
		{name: "no default account needed one-way", mutate: func(in *Instance) { in.DefaultCompanyID = ""; in.Direction = DirectionToMailchimp }},
		{name: "bad mapping", mutate: func(in *Instance) { in.Mappings = in.Mappings[:1] }, wantErr: "FNAME is mandatory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := testInstance()
			tt.mutate(&in)
			err := in.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecretsNeverFormatted(t *testing.T) {
	in := testInstance()
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("instance", "secrets", in.Secrets, "instance", in)
	for _, text := range []string{fmt.Sprintf("%v", in), fmt.Sprintf("%+v", in), fmt.Sprintf("%#v", in), fmt.Sprint(in.Secrets), logged.String()} {
		if strings.Contains(text, secretKey) || strings.Contains(text, "ap-secret-key-abcdef") {
			t.Errorf("formatted instance shows a secret: %s", text)
		}
	}
}
