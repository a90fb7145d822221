package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/mailchimp"
	sbap "github.com/apmc-sync/apmc/internal/sandbox/accessplanit"
	sbmc "github.com/apmc-sync/apmc/internal/sandbox/mailchimp"
)

// seed starts the simulators that are needed and creates the demo instance
// (direction both, the mandatory mappings plus PHONE, consent synced with
// the defaults, tag sync on, and training activity on when Mailchimp is the
// simulator, whose audience has its merge fields), registers its
// Mailchimp webhook and points the accessplanit simulator's webhook at it.
func (s *Stack) seed(ctx context.Context, cfg Config, base string, info *Info) error {
	in := apmc.Instance{
		ID: DemoInstanceID, Name: "Demo", State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		Mappings: append(apmc.DefaultMappings(), apmc.FieldMapping{MergeTag: "PHONE", Field: "Phone", Type: apmc.TypePhone}),
		// Consent with the defaults: opted-in Users become subscribed
		// members, the others transactional; opt-outs stay where they are.
		Consent: &apmc.Consent{},
		Secrets: apmc.Secrets{AccessplanitToken: randomHex(20), MailchimpToken: randomHex(20)},
		Tags:    apmc.TagSettings{Sync: true},
	}

	if cfg.MailchimpAPIKey != "" {
		in.Secrets.MailchimpAPIKey, in.MailchimpListID = cfg.MailchimpAPIKey, cfg.MailchimpListID
	} else {
		s.Mailchimp = sbmc.New(sbmc.Options{Logger: cfg.Logger})
		s.closers = append(s.closers, s.Mailchimp.Close)
		url, err := s.listen(cfg.MailchimpSandboxAddr, s.Mailchimp)
		if err != nil {
			return err
		}
		in.Secrets.MailchimpAPIKey = randomHex(16) + "-us21"
		s.Mailchimp.AddAccount(in.Secrets.MailchimpAPIKey)
		in.MailchimpListID = s.Mailchimp.AddList(in.Secrets.MailchimpAPIKey, "Demo audience",
			append([]sbmc.MergeField{
				{Tag: "BIRTHDAY", Name: "Birthday", Type: "birthday"},
				{Tag: "COMPANY", Name: "Company", Type: "text"},
			}, activityMergeFields()...)...)
		in.Activity = apmc.ActivitySettings{Enabled: true}
		in.MailchimpBaseURL = url + "/3.0"
		info.Sandbox.Mailchimp = MailchimpSandbox{BaseURL: in.MailchimpBaseURL, ControlURL: url + "/_sandbox/", APIKey: in.Secrets.MailchimpAPIKey, ListID: in.MailchimpListID}
	}

	if cfg.AccessplanitBaseURL != "" {
		in.AccessplanitBaseURL, in.Secrets.AccessplanitAPIKey, in.DefaultCompanyID = cfg.AccessplanitBaseURL, cfg.AccessplanitAPIKey, cfg.AccessplanitCompanyID
	} else {
		// CF_MailchimpStatus lets an instance try mailchimp_status_field.
		s.Accessplanit = sbap.New(sbap.Options{CustomFields: []string{"CF_MailchimpStatus"}})
		s.closers = append(s.closers, s.Accessplanit.Close)
		url, err := s.listen(cfg.AccessplanitSandboxAddr, s.Accessplanit)
		if err != nil {
			return err
		}
		in.Secrets.AccessplanitAPIKey = randomHex(20)
		in.AccessplanitUserID = "9000"
		s.Accessplanit.AddAPIKey(in.Secrets.AccessplanitAPIKey, in.AccessplanitUserID)
		in.DefaultCompanyID = s.Accessplanit.AddCompany("Demo Training Ltd")
		in.AccessplanitBaseURL = url + s.Accessplanit.Prefix()
		info.Sandbox.Accessplanit = AccessplanitSandbox{BaseURL: in.AccessplanitBaseURL, ControlURL: url + "/_sandbox/", APIKey: in.Secrets.AccessplanitAPIKey, DefaultCompanyID: in.DefaultCompanyID}
	}

	if existing, err := s.Instances.Instance(ctx, in.ID); err == nil {
		// A persistent AWS endpoint already holds the demo instance: keep its
		// settings and webhook tokens, but point it at this start's systems,
		// whose URLs and keys are new when they are simulators.
		if in, err = s.reconnect(ctx, existing, in); err != nil {
			return err
		}
	} else if !errors.Is(err, apmc.ErrNotFound) {
		return fmt.Errorf("read the demo instance: %w", err)
	} else if err := s.Instances.Create(ctx, in); err != nil {
		return fmt.Errorf("create the demo instance: %w", err)
	}
	info.Webhooks = Webhooks{
		Accessplanit: fmt.Sprintf("%s/webhooks/accessplanit/%s/%s", base, in.ID, in.Secrets.AccessplanitToken),
		Mailchimp:    fmt.Sprintf("%s/webhooks/mailchimp/%s/%s", base, in.ID, in.Secrets.MailchimpToken),
	}
	if s.Accessplanit != nil {
		s.Accessplanit.AddWebhook(info.Webhooks.Accessplanit)
	}
	if s.Mailchimp == nil || in.Secrets.MailchimpSigningSecret != "" {
		info.Sandbox.Mailchimp.SigningSecret = in.Secrets.MailchimpSigningSecret
		return nil
	}
	// Register the Mailchimp webhook as an operator would: the simulator
	// checks the URL with a GET first, and answers with the signing secret.
	mc, err := mailchimp.New(in.Secrets.MailchimpAPIKey, mailchimp.WithBaseURL(in.MailchimpBaseURL))
	if err != nil {
		return fmt.Errorf("build the Mailchimp client: %w", err)
	}
	hook, err := mc.CreateWebhook(ctx, in.MailchimpListID, mailchimp.Webhook{
		URL:     info.Webhooks.Mailchimp,
		Events:  mailchimp.WebhookEvents{Subscribe: true, Unsubscribe: true, Profile: true, Cleaned: true, UpEmail: true, Campaign: true},
		Sources: mailchimp.WebhookSources{User: true, Admin: true, API: true},
	})
	if err != nil {
		return fmt.Errorf("register the Mailchimp webhook: %w", err)
	}
	stored, err := s.Instances.Instance(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("read the demo instance: %w", err)
	}
	stored.Secrets.MailchimpSigningSecret = hook.SigningSecret
	if err := s.Instances.Update(ctx, stored); err != nil {
		return fmt.Errorf("store the webhook signing secret: %w", err)
	}
	s.Cache.Forget(in.ID)
	info.Sandbox.Mailchimp.SigningSecret = hook.SigningSecret
	return nil
}

// activityMergeFields are the merge fields training activity fills
// (apmc.ActivityMergeFields), for the simulated audience.
func activityMergeFields() []sbmc.MergeField {
	var out []sbmc.MergeField
	for _, f := range apmc.ActivityMergeFields {
		out = append(out, sbmc.MergeField{Tag: f.Tag, Name: f.Name, Type: string(f.Type)})
	}
	return out
}

// reconnect updates the stored demo instance to this start's connection
// settings and API keys (fresh simulators listen elsewhere and know other
// keys), keeping everything else the operator may have changed. A new
// Mailchimp simulator knows no webhook yet, so the signing secret is
// cleared for seed to register the webhook again.
func (s *Stack) reconnect(ctx context.Context, stored, fresh apmc.Instance) (apmc.Instance, error) {
	in := stored
	in.MailchimpBaseURL, in.MailchimpListID = fresh.MailchimpBaseURL, fresh.MailchimpListID
	in.AccessplanitBaseURL, in.DefaultCompanyID, in.AccessplanitUserID = fresh.AccessplanitBaseURL, fresh.DefaultCompanyID, fresh.AccessplanitUserID
	in.Secrets.MailchimpAPIKey, in.Secrets.AccessplanitAPIKey = fresh.Secrets.MailchimpAPIKey, fresh.Secrets.AccessplanitAPIKey
	if s.Mailchimp != nil {
		in.Secrets.MailchimpSigningSecret = ""
	}
	if in.MailchimpBaseURL == stored.MailchimpBaseURL && in.MailchimpListID == stored.MailchimpListID &&
		in.AccessplanitBaseURL == stored.AccessplanitBaseURL && in.DefaultCompanyID == stored.DefaultCompanyID &&
		in.AccessplanitUserID == stored.AccessplanitUserID && in.Secrets == stored.Secrets {
		return stored, nil
	}
	if err := s.Instances.Update(ctx, in); err != nil {
		return apmc.Instance{}, fmt.Errorf("point the demo instance at this start's systems: %w", err)
	}
	s.Cache.Forget(in.ID)
	in.ConfigVersion++
	return in, nil
}

// secretsKey returns the KMS key sealing instance secrets, found by the
// alias alias/<prefix>-local-secrets, or created with that alias, so a
// persistent endpoint keeps using one key across restarts.
func secretsKey(ctx context.Context, client *kms.Client, prefix string) (string, error) {
	alias := "alias/" + prefix + "-local-secrets"
	found, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err == nil {
		return aws.ToString(found.KeyMetadata.KeyId), nil
	}
	var notFound *kmstypes.NotFoundException
	if !errors.As(err, &notFound) {
		return "", fmt.Errorf("look up KMS key %s: %w", alias, err)
	}
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("apmc local secrets (" + prefix + ")")})
	if err != nil {
		return "", fmt.Errorf("create KMS key: %w", err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)
	if _, err := client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
		var exists *kmstypes.AlreadyExistsException
		if !errors.As(err, &exists) {
			return "", fmt.Errorf("create KMS alias %s: %w", alias, err)
		}
		// Another start created the alias first: use its key.
		found, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
		if err != nil {
			return "", fmt.Errorf("look up KMS key %s: %w", alias, err)
		}
		return aws.ToString(found.KeyMetadata.KeyId), nil
	}
	return keyID, nil
}
