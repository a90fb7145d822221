package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/apmc-sync/apmc/internal/awsconfig"
)

// kumo v0.33.1 does not implement GenerateMac, so these tests record the
// request the SDK sends to a loopback server and answer it as KMS documents
// (a JSON body with the MAC as base64, or a JSON error with its __type).

// recorded is one request the recording server received.
type recorded struct {
	target string
	body   map[string]any
}

// recorder answers every request with status and body, recording it.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
	status   int
	body     string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	rc.mu.Lock()
	rc.requests = append(rc.requests, recorded{target: r.Header.Get("X-Amz-Target"), body: body})
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(rc.status)
	_, _ = io.WriteString(w, rc.body)
}

func newRecordingKMS(t *testing.T, status int, body string) (*kms.Client, *recorder) {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	rc := &recorder{status: status, body: body}
	srv := httptest.NewServer(rc) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	cfg := awsconfig.Local()
	cfg.RetryMaxAttempts = 1
	return kms.NewFromConfig(cfg, func(o *kms.Options) { o.BaseEndpoint = aws.String(srv.URL) }), rc
}

func TestSessionKey(t *testing.T) {
	const keyID = "arn:aws:kms:eu-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	mac := bytes.Repeat([]byte{0xa5}, 32)
	client, rc := newRecordingKMS(t, http.StatusOK,
		`{"KeyId":"`+keyID+`","Mac":"`+base64.StdEncoding.EncodeToString(mac)+`","MacAlgorithm":"HMAC_SHA_256"}`)
	got, err := SessionKey(context.Background(), client, keyID)
	if err != nil {
		t.Fatalf("SessionKey() error = %v", err)
	}
	if !bytes.Equal(got, mac) {
		t.Errorf("SessionKey() = %x, want %x (the MAC KMS returned)", got, mac)
	}
	if len(rc.requests) != 1 {
		t.Fatalf("SessionKey() sent %d requests, want 1", len(rc.requests))
	}
	req := rc.requests[0]
	if req.target != "TrentService.GenerateMac" {
		t.Errorf("X-Amz-Target = %q, want TrentService.GenerateMac", req.target)
	}
	want := map[string]any{
		"KeyId":        keyID,
		"Message":      base64.StdEncoding.EncodeToString([]byte("apmc console session key v1")),
		"MacAlgorithm": "HMAC_SHA_256",
	}
	for k, v := range want {
		if req.body[k] != v {
			t.Errorf("GenerateMac request %s = %v, want %v", k, req.body[k], v)
		}
	}
	if len(req.body) != len(want) {
		t.Errorf("GenerateMac request = %v, want only %v", req.body, want)
	}
}

func TestSessionKeyErrors(t *testing.T) {
	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	tests := []struct {
		name    string
		keyID   string
		status  int
		body    string
		wantErr string
	}{
		{"no key id", "", http.StatusOK, `{}`, "KMS key id is required"},
		{"short MAC", keyID, http.StatusOK, `{"Mac":"` + base64.StdEncoding.EncodeToString(make([]byte, 16)) + `"}`, "MAC is 16 bytes, want 32"},
		{"no MAC", keyID, http.StatusOK, `{}`, "MAC is 0 bytes, want 32"},
		{"not allowed", keyID, http.StatusBadRequest, `{"__type":"AccessDeniedException","message":"not authorized to perform kms:GenerateMac"}`, "AccessDeniedException"},
		{"wrong key usage", keyID, http.StatusBadRequest, `{"__type":"InvalidKeyUsageException","message":"key usage is ENCRYPT_DECRYPT"}`, "InvalidKeyUsageException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, rc := newRecordingKMS(t, tt.status, tt.body)
			got, err := SessionKey(context.Background(), client, tt.keyID)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SessionKey(%q) = %x, %v; want an error containing %q", tt.keyID, got, err, tt.wantErr)
			}
			if got != nil {
				t.Errorf("SessionKey(%q) key = %x, want none with the error", tt.keyID, got)
			}
			if !strings.Contains(err.Error(), "console session key") {
				t.Errorf("SessionKey(%q) error = %q, want it to say what was being done", tt.keyID, err)
			}
			if tt.keyID == "" && len(rc.requests) != 0 {
				t.Errorf("SessionKey(\"\") sent %d requests, want none", len(rc.requests))
			}
		})
	}
}
