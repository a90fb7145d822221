package secrets

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/sivchari/kumo"
)

// newKMSClient returns a KMS client talking to an in-process kumo server.
func newKMSClient(t *testing.T) *kms.Client {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	srv := kumo.NewServer()
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
	)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func newKey(t *testing.T, client *kms.Client) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("apmc test")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

func TestSealOpen(t *testing.T) {
	client := newKMSClient(t)
	k := NewKMS(client, newKey(t, client))
	ctx := context.Background()
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"json blob", []byte(`{"mailchimp_api_key":"0123456789abcdef-us6"}`)},
		{"one byte", []byte("x")},
		{"binary", []byte{0, 1, 2, 254, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := k.Seal(ctx, "inst-1", tt.plaintext)
			if err != nil {
				t.Fatalf("Seal(%q) error: %v", tt.plaintext, err)
			}
			if len(tt.plaintext) > 1 && bytes.Contains(sealed, tt.plaintext) {
				t.Errorf("Seal(%q) = %q, holds the plaintext", tt.plaintext, sealed)
			}
			got, err := k.Open(ctx, "inst-1", sealed)
			if err != nil {
				t.Fatalf("Open(Seal(%q)) error: %v", tt.plaintext, err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open(Seal(%q)) = %q, want %q", tt.plaintext, got, tt.plaintext)
			}
		})
	}
}

func TestSealOpenErrors(t *testing.T) {
	client := newKMSClient(t)
	good := NewKMS(client, newKey(t, client))
	unknownKey := NewKMS(client, "11111111-2222-3333-4444-555555555555")
	ctx := context.Background()
	const secret = "super-secret-api-key-us6"
	sealed, err := good.Seal(ctx, "inst-1", []byte(secret))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	tests := []struct {
		name string
		do   func() error
	}{
		{"seal with unknown key", func() error { _, err := unknownKey.Seal(ctx, "inst-1", []byte(secret)); return err }},
		{"seal without instance", func() error { _, err := good.Seal(ctx, "", []byte(secret)); return err }},
		{"open garbage", func() error { _, err := good.Open(ctx, "inst-1", []byte(secret+secret+secret)); return err }},
		{"open nothing", func() error { _, err := good.Open(ctx, "inst-1", nil); return err }},
		{"open without instance", func() error { _, err := good.Open(ctx, "", sealed); return err }},
		{"open with unknown key", func() error { _, err := unknownKey.Open(ctx, "inst-1", sealed); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatalf("%s: error = nil, want an error", tt.name)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q holds the secret", tt.name, err)
			}
		})
	}
}
