package apmc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"
)

// WebhookAuth is what a webhook endpoint needs to authenticate a delivery
// for one side of an instance, and nothing more: the digests of the path
// tokens it accepts and, for Mailchimp, the signing secret. It is stored
// apart from the sealed secrets, so the endpoints read it without KMS and
// never hold an API key.
type WebhookAuth struct {
	// Tokens are the SHA-256 digests of the accepted path tokens: the
	// current one, and after a rotation the previous one until it expires.
	Tokens []TokenDigest
	// SigningSecret verifies X-Mailchimp-Signature (Mailchimp side only).
	SigningSecret string
	// RequireSignature refuses unsigned deliveries even without a secret.
	RequireSignature bool
}

// TokenDigest is the digest of one accepted webhook path token.
type TokenDigest struct {
	// Digest is the hex SHA-256 of the token.
	Digest string `json:"digest"`
	// ExpiresAt ends a replaced token's grace period; zero means current.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// WebhookAuths reads the webhook credentials of an instance's side.
type WebhookAuths interface {
	// WebhookAuth returns them; an unknown instance wraps ErrNotFound.
	WebhookAuth(ctx context.Context, id string, side Side) (WebhookAuth, error)
}

// DigestToken returns the hex SHA-256 of a webhook path token, as stored.
func DigestToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Accepts reports whether token is one of the accepted tokens at now. It
// compares the token's digest with every stored digest in constant time,
// so the time taken says nothing about which digest, or how much of one,
// matched.
func (a WebhookAuth) Accepts(token string, now time.Time) bool {
	if token == "" {
		return false
	}
	got := []byte(DigestToken(token))
	ok := 0
	for _, d := range a.Tokens {
		live := d.ExpiresAt.IsZero() || now.Before(d.ExpiresAt)
		match := subtle.ConstantTimeCompare(got, []byte(d.Digest))
		if live {
			ok |= match
		}
	}
	return ok == 1
}
