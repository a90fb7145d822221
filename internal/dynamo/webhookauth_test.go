package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// TestWebhookAuthWithoutKMS checks that the webhook credentials are read
// by a store that cannot call KMS at all (as the ingest functions' store),
// and hold the tokens' digests and the signing secret.
func TestWebhookAuthWithoutKMS(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		if err := store.Create(ctx, testInstance("inst-1")); err != nil {
			t.Fatalf("Create() error: %v", err)
		}
		noKMS := NewInstanceStore(b.client, tables.Instances, &countingSealer{fail: true})
		now := time.Now()
		tests := []struct {
			side       apmc.Side
			token      string
			wrong      string
			wantSecret string
		}{
			{apmc.SideAccessplanit, testSecrets.AccessplanitToken, testSecrets.MailchimpToken, ""},
			{apmc.SideMailchimp, testSecrets.MailchimpToken, testSecrets.AccessplanitToken, testSecrets.MailchimpSigningSecret},
		}
		for _, tt := range tests {
			auth, err := noKMS.WebhookAuth(ctx, "inst-1", tt.side)
			if err != nil {
				t.Fatalf("WebhookAuth(%s) error: %v", tt.side, err)
			}
			if !auth.Accepts(tt.token, now) || auth.Accepts(tt.wrong, now) {
				t.Errorf("WebhookAuth(%s) accepts its token %v, the other side's %v; want true, false", tt.side, auth.Accepts(tt.token, now), auth.Accepts(tt.wrong, now))
			}
			if auth.SigningSecret != tt.wantSecret {
				t.Errorf("WebhookAuth(%s).SigningSecret = %q, want %q", tt.side, auth.SigningSecret, tt.wantSecret)
			}
		}
		if _, err := noKMS.WebhookAuth(ctx, "nobody", apmc.SideMailchimp); !errors.Is(err, apmc.ErrNotFound) {
			t.Errorf("WebhookAuth(nobody) error = %v, want ErrNotFound", err)
		}
	})
}

// TestRotateWebhookTokens checks that a rotation accepts the new tokens at
// once, the old ones until the grace period ends and not after, and that
// the sealed secrets hold the new tokens.
func TestRotateWebhookTokens(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		now := start
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		store.now = func() time.Time { return now }
		if err := store.Create(ctx, testInstance("inst-1")); err != nil {
			t.Fatalf("Create() error: %v", err)
		}
		rotated, err := store.RotateWebhookTokens(ctx, "inst-1", "ap-new", "mc-new", time.Hour)
		if err != nil {
			t.Fatalf("RotateWebhookTokens() error: %v", err)
		}
		if rotated.Secrets.AccessplanitToken != "ap-new" || rotated.Secrets.MailchimpToken != "mc-new" || rotated.ConfigVersion != 2 {
			t.Errorf("RotateWebhookTokens() = version %d, new tokens %v, want version 2 and the new tokens", rotated.ConfigVersion,
				rotated.Secrets.AccessplanitToken == "ap-new" && rotated.Secrets.MailchimpToken == "mc-new")
		}
		if got, err := store.Instance(ctx, "inst-1"); err != nil || got.Secrets.MailchimpAPIKey != testSecrets.MailchimpAPIKey || got.Secrets.MailchimpToken != "mc-new" {
			t.Errorf("Instance() after rotation: error %v; want the API keys kept and the new token sealed", err)
		}
		tests := []struct {
			name  string
			at    time.Time
			side  apmc.Side
			token string
			want  bool
		}{
			{"new accessplanit token", start, apmc.SideAccessplanit, "ap-new", true},
			{"new mailchimp token", start, apmc.SideMailchimp, "mc-new", true},
			{"old accessplanit token in the grace period", start.Add(59 * time.Minute), apmc.SideAccessplanit, testSecrets.AccessplanitToken, true},
			{"old mailchimp token in the grace period", start.Add(59 * time.Minute), apmc.SideMailchimp, testSecrets.MailchimpToken, true},
			{"old accessplanit token after it", start.Add(time.Hour), apmc.SideAccessplanit, testSecrets.AccessplanitToken, false},
			{"old mailchimp token after it", start.Add(2 * time.Hour), apmc.SideMailchimp, testSecrets.MailchimpToken, false},
			{"new token later", start.Add(48 * time.Hour), apmc.SideMailchimp, "mc-new", true},
		}
		for _, tt := range tests {
			auth, err := store.WebhookAuth(ctx, "inst-1", tt.side)
			if err != nil {
				t.Fatalf("WebhookAuth() error: %v", err)
			}
			if got := auth.Accepts(tt.token, tt.at); got != tt.want {
				t.Errorf("%s: Accepts() = %v, want %v", tt.name, got, tt.want)
			}
		}

		// A second rotation after the grace period drops the expired digests.
		now = start.Add(2 * time.Hour)
		if _, err := store.RotateWebhookTokens(ctx, "inst-1", "ap-3", "mc-3", 0); err != nil {
			t.Fatalf("RotateWebhookTokens() error: %v", err)
		}
		auth, err := store.WebhookAuth(ctx, "inst-1", apmc.SideAccessplanit)
		if err != nil {
			t.Fatalf("WebhookAuth() error: %v", err)
		}
		if len(auth.Tokens) != 1 || !auth.Accepts("ap-3", now) || auth.Accepts("ap-new", now) {
			t.Errorf("after a rotation without grace, tokens = %+v; want only the new one", auth.Tokens)
		}
		if _, err := store.RotateWebhookTokens(ctx, "inst-1", "a", "b", -time.Second); !apmc.IsInvalid(err) {
			t.Errorf("RotateWebhookTokens(negative grace) error = %v, want invalid", err)
		}
	})
}

// TestWebhookAuthMigration checks how an instance stored before token
// digests existed (sealed tokens only) is migrated: it accepts no delivery
// until its secrets are written again by Update or RotateWebhookTokens.
func TestWebhookAuthMigration(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		for _, id := range []string{"by-update", "by-rotation"} {
			in := testInstance(id)
			if err := store.Create(ctx, in); err != nil {
				t.Fatalf("Create(%s) error: %v", id, err)
			}
			// Remove what an older version did not write.
			if _, err := b.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:        aws.String(tables.Instances),
				Key:              map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}},
				UpdateExpression: aws.String("REMOVE accessplanit_token_digests, mailchimp_token_digests, webhook_signing_secret"),
			}); err != nil {
				t.Fatalf("UpdateItem(%s) error: %v", id, err)
			}
			if auth, err := store.WebhookAuth(ctx, id, apmc.SideMailchimp); err != nil || auth.Accepts(testSecrets.MailchimpToken, time.Now()) {
				t.Fatalf("WebhookAuth(%s) before migration = %+v, %v; want no token accepted", id, auth.Tokens, err)
			}
		}
		in := testInstance("by-update")
		in.ConfigVersion = 1
		if err := store.Update(ctx, in); err != nil {
			t.Fatalf("Update() error: %v", err)
		}
		if auth, err := store.WebhookAuth(ctx, "by-update", apmc.SideMailchimp); err != nil || !auth.Accepts(testSecrets.MailchimpToken, time.Now()) || auth.SigningSecret != testSecrets.MailchimpSigningSecret {
			t.Errorf("WebhookAuth() after Update = %+v, %v; want the token accepted and the signing secret", auth.Tokens, err)
		}
		if _, err := store.RotateWebhookTokens(ctx, "by-rotation", "ap-new", "mc-new", time.Hour); err != nil {
			t.Fatalf("RotateWebhookTokens() error: %v", err)
		}
		auth, err := store.WebhookAuth(ctx, "by-rotation", apmc.SideAccessplanit)
		if err != nil || !auth.Accepts("ap-new", time.Now()) || !auth.Accepts(testSecrets.AccessplanitToken, time.Now()) {
			t.Errorf("WebhookAuth() after rotation = %+v, %v; want the new and, for the grace period, the sealed old token", auth.Tokens, err)
		}
	})
}
