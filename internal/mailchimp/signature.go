package mailchimp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying a signed delivery's signature.
const SignatureHeader = "X-Mailchimp-Signature"

// SignatureTolerance is how far a signature's timestamp may be from now,
// either way, before the delivery is refused as a replay.
const SignatureTolerance = 5 * time.Minute

// Errors of VerifySignature (wrapped).
var (
	ErrSignatureMissing = errors.New("mailchimp signature missing")
	ErrSignatureInvalid = errors.New("mailchimp signature invalid")
	ErrSignatureExpired = errors.New("mailchimp signature timestamp out of range")
)

// Sign returns the X-Mailchimp-Signature value for body signed with secret
// at t: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{body}">".
func Sign(secret string, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// VerifySignature checks an X-Mailchimp-Signature header against the raw
// body. Any of several v1 values may match; unknown keys are ignored. A
// timestamp more than SignatureTolerance from now is refused. Comparison is
// constant-time. Errors wrap ErrSignatureMissing, ErrSignatureInvalid or
// ErrSignatureExpired and never contain the secret.
func VerifySignature(header string, body []byte, secret string, now time.Time) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return fmt.Errorf("verify webhook: no %s header: %w", SignatureHeader, ErrSignatureMissing)
	}
	if secret == "" {
		return fmt.Errorf("verify webhook: no signing secret configured: %w", ErrSignatureInvalid)
	}
	var ts string
	var sigs [][]byte
	for field := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(field), "=")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "t":
			if ts == "" {
				ts = strings.TrimSpace(v)
			}
		case "v1":
			if b, err := hex.DecodeString(strings.TrimSpace(v)); err == nil && len(b) == sha256.Size {
				sigs = append(sigs, b)
			}
		}
	}
	if ts == "" || strings.TrimLeft(ts, "0123456789") != "" || len(ts) > 12 {
		return fmt.Errorf("verify webhook: header has no valid timestamp: %w", ErrSignatureInvalid)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("verify webhook: header has no v1 signature: %w", ErrSignatureInvalid)
	}
	want := mac(secret, ts, body)
	match := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			match = true
		}
	}
	if !match {
		return fmt.Errorf("verify webhook: no v1 signature matches the body: %w", ErrSignatureInvalid)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verify webhook: timestamp %q: %w", ts, ErrSignatureInvalid)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("verify webhook: signed at %s, %s from now: %w", time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second), ErrSignatureExpired)
	}
	return nil
}
