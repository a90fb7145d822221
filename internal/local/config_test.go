package local

import (
	"context"
	"path/filepath"
	"testing"
)

func TestAWSConfigByEndpoint(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "AKIDCHAIN", "AWS_SECRET_ACCESS_KEY": "chain-secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	tests := []struct {
		endpoint   string
		wantRegion string
		wantKeyID  string
	}{
		{"http://127.0.0.1:4566", "us-east-1", "local"},
		{"http://localhost:8000", "us-east-1", "local"},
		{"http://[::1]:4566", "us-east-1", "local"},
		{"https://dynamo.internal.example.com", "eu-west-3", "AKIDCHAIN"},
		{"http://10.0.0.7:4566", "eu-west-3", "AKIDCHAIN"},
	}
	for _, tt := range tests {
		var c Config
		cfg, err := c.awsConfig(context.Background(), tt.endpoint)
		if err != nil {
			t.Fatalf("awsConfig(%s) error = %v", tt.endpoint, err)
		}
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("awsConfig(%s) credentials error = %v", tt.endpoint, err)
		}
		if cfg.Region != tt.wantRegion || creds.AccessKeyID != tt.wantKeyID {
			t.Errorf("awsConfig(%s) = region %s, key id %s; want %s, %s", tt.endpoint, cfg.Region, creds.AccessKeyID, tt.wantRegion, tt.wantKeyID)
		}
	}
}

func TestAtEndpoint(t *testing.T) {
	tests := []struct{ queueURL, endpoint, want string }{
		{"http://localhost:4566/000000000000/apmc-changes.fifo", "http://127.0.0.1:40123", "http://127.0.0.1:40123/000000000000/apmc-changes.fifo"},
		{"https://sqs.us-east-1.amazonaws.com/123/q.fifo", "https://proxy.example.com:8443", "https://proxy.example.com:8443/123/q.fifo"},
		{"", "http://127.0.0.1:1", ""},
		{"http://localhost:4566/0/q.fifo", "", "http://localhost:4566/0/q.fifo"},
	}
	for _, tt := range tests {
		if got := atEndpoint(tt.queueURL, tt.endpoint); got != tt.want {
			t.Errorf("atEndpoint(%q, %q) = %q, want %q", tt.queueURL, tt.endpoint, got, tt.want)
		}
	}
}
