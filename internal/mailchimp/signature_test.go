package mailchimp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// knownMAC is HMAC-SHA256("secret", "1700000000.hello"), from openssl.
const knownMAC = "47b1df0ab12338b2685470b0d2b37033add7c3b2bc8172f313e77413f1bb78c8"

func TestSignKnownValue(t *testing.T) {
	// Computed independently: printf '1700000000.hello' | openssl dgst -sha256 -hmac secret
	got := Sign("secret", []byte("hello"), time.Unix(1700000000, 0))
	want := "t=1700000000,v1=" + knownMAC
	if got != want {
		t.Errorf("Sign(secret, hello, 1700000000) = %s, want %s", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	const secret = "whsec-s3cr3t-value"
	now := time.Unix(1700000000, 0)
	body := []byte("type=profile&fired_at=2023-11-14+22%3A13%3A20&data%5Bemail%5D=a%40b.co")
	good := Sign(secret, body, now)
	v1 := strings.TrimPrefix(good, "t=1700000000,v1=")
	tests := []struct {
		name   string
		header string
		body   []byte
		secret string
		now    time.Time
		want   error
	}{
		{"valid", good, body, secret, now, nil},
		{"valid 4 minutes later", good, body, secret, now.Add(4 * time.Minute), nil},
		{"valid 4 minutes earlier", good, body, secret, now.Add(-4 * time.Minute), nil},
		{"several v1, one matches", "t=1700000000,v1=" + strings.Repeat("ab", 32) + ",v1=" + v1, body, secret, now, nil},
		{"unknown keys and spaces tolerated", "t=1700000000, v0=zz, v1=" + v1 + ", x=1", body, secret, now, nil},
		{"missing", "", body, secret, now, ErrSignatureMissing},
		{"blank", "   ", body, secret, now, ErrSignatureMissing},
		{"tampered body", good, append([]byte{}, append(body, '1')...), secret, now, ErrSignatureInvalid},
		{"wrong secret", good, body, "other", now, ErrSignatureInvalid},
		{"no secret configured", good, body, "", now, ErrSignatureInvalid},
		{"no timestamp", "v1=" + v1, body, secret, now, ErrSignatureInvalid},
		{"non-numeric timestamp", "t=17e8,v1=" + v1, body, secret, now, ErrSignatureInvalid},
		{"no v1", "t=1700000000", body, secret, now, ErrSignatureInvalid},
		{"v1 not hex", "t=1700000000,v1=nothex", body, secret, now, ErrSignatureInvalid},
		{"timestamp changed", strings.Replace(good, "t=1700000000", "t=1700000001", 1), body, secret, now, ErrSignatureInvalid},
		{"expired", good, body, secret, now.Add(6 * time.Minute), ErrSignatureExpired},
		{"from the future", good, body, secret, now.Add(-6 * time.Minute), ErrSignatureExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.header, tt.body, tt.secret, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("VerifySignature(%q) error %q contains the secret", tt.header, err)
			}
		})
	}
}
