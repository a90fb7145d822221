package awsconfig

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestLambda(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      bool
		wantRegion   string
		wantEndpoint string
		wantCredErr  bool
	}{
		{name: "Lambda environment", env: map[string]string{"AWS_REGION": "eu-west-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok"}, wantRegion: "eu-west-2"},
		{name: "default region and a local endpoint", env: map[string]string{"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}, wantRegion: "us-east-1", wantEndpoint: "http://127.0.0.1:4566"},
		{name: "no region", env: map[string]string{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}, wantErr: true},
		{name: "no credentials", env: map[string]string{"AWS_REGION": "eu-west-1"}, wantRegion: "eu-west-1", wantCredErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := Lambda()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Lambda() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if cfg.Region != tt.wantRegion || aws.ToString(cfg.BaseEndpoint) != tt.wantEndpoint {
				t.Errorf("Lambda() region %q endpoint %q, want %q %q", cfg.Region, aws.ToString(cfg.BaseEndpoint), tt.wantRegion, tt.wantEndpoint)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if (err != nil) != tt.wantCredErr {
				t.Fatalf("Retrieve() error = %v, want error %v", err, tt.wantCredErr)
			}
			if err == nil && (creds.AccessKeyID != tt.env["AWS_ACCESS_KEY_ID"] || creds.SessionToken != tt.env["AWS_SESSION_TOKEN"]) {
				t.Errorf("Retrieve() = %+v", creds)
			}
		})
	}
}
