package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Sealer encrypts and decrypts an instance's secrets, binding them to the
// instance. *secrets.KMS implements it.
type Sealer interface {
	Seal(ctx context.Context, instanceID string, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, instanceID string, sealed []byte) ([]byte, error)
}

// InstanceStore keeps instances. Their secrets are sealed together as one
// blob, so a write costs one Encrypt and a read for syncing one Decrypt;
// reads for display never call KMS at all. Beside the blob, each write
// stores what the webhook endpoints need in plain attributes they read
// alone (WebhookAuth): the SHA-256 digests of the path tokens and the
// Mailchimp signing secret, so those endpoints need no KMS access.
type InstanceStore struct {
	client *dynamodb.Client
	table  string
	sealer Sealer
	now    func() time.Time
}

var _ apmc.Instances = (*InstanceStore)(nil)

// NewInstanceStore returns a store over the instances table.
func NewInstanceStore(client *dynamodb.Client, table string, sealer Sealer) *InstanceStore {
	return &InstanceStore{client: client, table: table, sealer: sealer, now: time.Now}
}

// instanceItem is an instance as stored: its configuration, the sealed
// secrets and the webhook credentials. The only secret in clear is the
// Mailchimp signing secret, which verifies deliveries and opens nothing;
// path tokens are kept as digests.
type instanceItem struct {
	InstanceID            string              `json:"instance_id"`
	Name                  string              `json:"name"`
	State                 apmc.State          `json:"state"`
	ConfigVersion         int                 `json:"config_version"`
	Direction             apmc.Direction      `json:"direction"`
	CreatedAt             time.Time           `json:"created_at,omitzero"`
	MailchimpListID       string              `json:"mailchimp_list_id"`
	MailchimpBaseURL      string              `json:"mailchimp_base_url,omitempty"`
	MailchimpAccountID    string              `json:"mailchimp_account_id,omitempty"`
	StatusIfNew           string              `json:"status_if_new"`
	AccessplanitBaseURL   string              `json:"accessplanit_base_url"`
	DefaultCompanyID      string              `json:"default_company_id,omitempty"`
	AccessplanitUserID    string              `json:"accessplanit_user_id,omitempty"`
	MailchimpEmailChanges apmc.EmailChanges   `json:"mailchimp_email_changes,omitempty"`
	ConflictWinner        apmc.ConflictWinner `json:"conflict_winner,omitempty"`
	APRequestsPerHour     int                 `json:"accessplanit_requests_per_hour,omitempty"`
	Mappings              []apmc.FieldMapping `json:"mappings"`
	Consent               *apmc.Consent       `json:"consent,omitempty"`
	MailchimpStatusField  string              `json:"mailchimp_status_field,omitempty"`
	DiscardWhilePaused    bool                `json:"discard_while_paused,omitempty"`
	RetentionDays         int                 `json:"retention_days,omitempty"`
	SealedSecrets         []byte              `json:"sealed_secrets,omitempty"`
	// Tags and Activity: see apmc.Instance.
	Tags     apmc.TagSettings      `json:"tags,omitzero"`
	Activity apmc.ActivitySettings `json:"training_activity,omitzero"`
	// The digests of each side's accepted webhook path tokens.
	AccessplanitTokens []apmc.TokenDigest `json:"accessplanit_token_digests,omitempty"`
	MailchimpTokens    []apmc.TokenDigest `json:"mailchimp_token_digests,omitempty"`
	// SigningSecret is the Mailchimp webhook's signing secret.
	SigningSecret    string `json:"webhook_signing_secret,omitempty"`
	RequireSignature bool   `json:"require_signature,omitempty"`
	// NotificationURLSet says whether the sealed secrets hold a
	// notification URL, so displays can say so without opening them.
	NotificationURLSet bool `json:"notification_url_set,omitempty"`
	// Health is the instance's health, written by SaveHealth alone (its
	// LastNotification is kept apart, in HealthNotification).
	Health             *apmc.Health       `json:"health,omitempty"`
	HealthVersion      int                `json:"health_version,omitempty"`
	HealthNotification *apmc.Notification `json:"health_notification,omitempty"`
	// HealthDeadLettered and HealthDeadLetterAt are the instance's dead
	// letters, counted by CountDeadLetter alone.
	HealthDeadLettered int        `json:"health_dead_lettered,omitempty"`
	HealthDeadLetterAt *time.Time `json:"health_dead_letter_at,omitempty"`
	// HealthLastSuccessAt is written by RecordSuccess alone.
	HealthLastSuccessAt *time.Time `json:"health_last_success_at,omitempty"`
	UpdatedAt           time.Time  `json:"updated_at"`
	ExpiresAt           int64      `json:"expires_at,omitempty"`
}

// sealedSecrets is the clear-text form of the sealed blob.
type sealedSecrets struct {
	MailchimpAPIKey        string `json:"mailchimp_api_key,omitempty"`
	AccessplanitAPIKey     string `json:"accessplanit_api_key,omitempty"`
	AccessplanitToken      string `json:"accessplanit_token,omitempty"`
	MailchimpToken         string `json:"mailchimp_token,omitempty"`
	MailchimpSigningSecret string `json:"mailchimp_signing_secret,omitempty"`
	NotificationURL        string `json:"notification_url,omitempty"`
}

func toInstanceItem(in apmc.Instance) instanceItem {
	it := instanceItem{
		InstanceID: in.ID, Name: in.Name, State: in.State, ConfigVersion: in.ConfigVersion, Direction: in.Direction, CreatedAt: in.CreatedAt,
		MailchimpListID: in.MailchimpListID, MailchimpBaseURL: in.MailchimpBaseURL, MailchimpAccountID: in.MailchimpAccountID, StatusIfNew: in.StatusIfNew,
		AccessplanitBaseURL: in.AccessplanitBaseURL, DefaultCompanyID: in.DefaultCompanyID,
		AccessplanitUserID: in.AccessplanitUserID, MailchimpEmailChanges: in.MailchimpEmailChanges, ConflictWinner: in.ConflictWinner, APRequestsPerHour: in.AccessplanitRequestsPerHour, Mappings: in.Mappings,
		DiscardWhilePaused: in.DiscardWhilePaused, RetentionDays: in.RetentionDays, RequireSignature: in.RequireSignature,
		NotificationURLSet: in.NotificationURLSet,
		Consent:            in.Consent, MailchimpStatusField: in.MailchimpStatusField,
	}

	it.Tags, it.Activity = in.Tags, in.Activity
	return it
}

func (it instanceItem) instance() apmc.Instance {
	in := apmc.Instance{
		NotificationURLSet: it.NotificationURLSet, Health: it.health(),
		ID: it.InstanceID, Name: it.Name, State: it.State, ConfigVersion: it.ConfigVersion, Direction: it.Direction, CreatedAt: it.CreatedAt,
		MailchimpListID: it.MailchimpListID, MailchimpBaseURL: it.MailchimpBaseURL, MailchimpAccountID: it.MailchimpAccountID, StatusIfNew: it.StatusIfNew,
		AccessplanitBaseURL: it.AccessplanitBaseURL, DefaultCompanyID: it.DefaultCompanyID,
		AccessplanitUserID: it.AccessplanitUserID, MailchimpEmailChanges: it.MailchimpEmailChanges, ConflictWinner: it.ConflictWinner, AccessplanitRequestsPerHour: it.APRequestsPerHour, Mappings: it.Mappings,
		DiscardWhilePaused: it.DiscardWhilePaused, RetentionDays: it.RetentionDays, RequireSignature: it.RequireSignature,
		Consent: it.Consent, MailchimpStatusField: it.MailchimpStatusField,
	}

	in.Tags, in.Activity = it.Tags, it.Activity
	return in
}

// Instance returns the instance with its secrets opened, for syncing.
func (s *InstanceStore) Instance(ctx context.Context, id string) (apmc.Instance, error) {
	it, err := s.get(ctx, id)
	if err != nil {
		return apmc.Instance{}, err
	}
	in := it.instance()
	if len(it.SealedSecrets) > 0 {
		sec, err := s.open(ctx, id, it.SealedSecrets)
		if err != nil {
			return apmc.Instance{}, err
		}
		in.Secrets = sec
	}
	return in, nil
}

// Display returns the instance without its secrets; it never calls KMS.
func (s *InstanceStore) Display(ctx context.Context, id string) (apmc.Instance, error) {
	it, err := s.get(ctx, id)
	if err != nil {
		return apmc.Instance{}, err
	}
	return it.instance(), nil
}

// List returns every instance, ordered by id, without secrets.
func (s *InstanceStore) List(ctx context.Context) ([]apmc.Instance, error) {
	now := s.now()
	var out []apmc.Instance
	p := dynamodb.NewScanPaginator(s.client, &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		for _, raw := range page.Items {
			if expired(raw, now) {
				continue
			}
			var it instanceItem
			if err := unmarshalItem(raw, &it); err != nil {
				return nil, fmt.Errorf("list instances: decode item: %w", err)
			}
			out = append(out, it.instance())
		}
	}
	slices.SortFunc(out, func(a, b apmc.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Create stores a new instance at config version 1. An instance with the
// same id already stored is an error wrapping apmc.ErrConflict.
func (s *InstanceStore) Create(ctx context.Context, in apmc.Instance) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("create instance: %w", err)
	}
	it := toInstanceItem(in)
	it.ConfigVersion = 1
	it.CreatedAt = s.now().UTC()
	sealed, err := s.seal(ctx, in.ID, in.Secrets)
	if err != nil {
		return err
	}
	it.SealedSecrets = sealed
	it.NotificationURLSet = in.Secrets.NotificationURL != ""
	it.setWebhookAuth(in.Secrets, nil, s.now())
	if err := s.put(ctx, it, absent(s.now())); err != nil {
		if errors.Is(err, apmc.ErrConflict) {
			return fmt.Errorf("create instance %s: an instance with this id already exists: %w", in.ID, apmc.ErrConflict)
		}
		return fmt.Errorf("create instance %s: %w", in.ID, err)
	}
	return nil
}

// Update replaces an instance's configuration if the stored config version
// is still in.ConfigVersion, storing the next version; otherwise it returns
// an error wrapping apmc.ErrConflict. Zero Secrets keep the stored ones, so
// an instance read with Display can be edited and saved back.
//
// The item is written whole, carrying the stored health over under a
// condition that it did not change. The sync function writes the health of
// a failing instance often, so a write that loses only to a health change
// reads the item again and tries once more: an operator reconfiguring a
// failing instance is not refused for it.
func (s *InstanceStore) Update(ctx context.Context, in apmc.Instance) error {
	if err := in.Validate(); err != nil {
		return fmt.Errorf("update instance: %w", err)
	}
	var err error
	for range 2 {
		if err = s.update(ctx, in); !errors.Is(err, errHealthChanged) {
			return err
		}
	}
	return fmt.Errorf("update instance %s: its health kept changing while it was saved; try again: %w", in.ID, apmc.ErrConflict)
}

// errHealthChanged says a whole-item write lost to a change of the
// instance's health only.
var errHealthChanged = errors.New("the instance's health changed meanwhile")

// update is one try of Update: a read and a conditional write. It returns
// errHealthChanged when the write failed but the config version stored is
// still the one read.
func (s *InstanceStore) update(ctx context.Context, in apmc.Instance) error {
	stored, err := s.get(ctx, in.ID)
	if err != nil {
		return fmt.Errorf("update instance: %w", err)
	}
	if stored.ConfigVersion != in.ConfigVersion {
		return fmt.Errorf("update instance %s: config version %d was read, %d is stored (someone else changed it): %w", in.ID, in.ConfigVersion, stored.ConfigVersion, apmc.ErrConflict)
	}
	it := toInstanceItem(in)
	it.ConfigVersion = in.ConfigVersion + 1
	it.CreatedAt = stored.CreatedAt
	it.SealedSecrets = stored.SealedSecrets
	it.ExpiresAt = stored.ExpiresAt
	it.AccessplanitTokens, it.MailchimpTokens, it.SigningSecret = stored.AccessplanitTokens, stored.MailchimpTokens, stored.SigningSecret
	it.NotificationURLSet = stored.NotificationURLSet
	it.keepHealth(stored)
	if in.Secrets != (apmc.Secrets{}) {
		if it.SealedSecrets, err = s.seal(ctx, in.ID, in.Secrets); err != nil {
			return err
		}
		it.NotificationURLSet = in.Secrets.NotificationURL != ""
		// Writing the secrets writes the digests of the tokens: this is also
		// how an instance stored before digests existed gets them.
		it.setWebhookAuth(in.Secrets, stored.webhookTokens(), s.now())
	}
	err = s.put(ctx, it, versionIs(in.ConfigVersion).And(healthUnchanged(stored)))
	if errors.Is(err, apmc.ErrConflict) {
		again, gerr := s.get(ctx, in.ID)
		if gerr == nil && again.ConfigVersion == in.ConfigVersion {
			return errHealthChanged
		}
		return fmt.Errorf("update instance %s: config version %d was changed by someone else: %w", in.ID, in.ConfigVersion, apmc.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update instance %s: %w", in.ID, err)
	}
	return nil
}

// keepHealth carries the health attributes of stored over to a whole-item
// write.
func (it *instanceItem) keepHealth(stored instanceItem) {
	it.Health, it.HealthVersion, it.HealthNotification = stored.Health, stored.HealthVersion, stored.HealthNotification
	it.HealthDeadLettered, it.HealthDeadLetterAt = stored.HealthDeadLettered, stored.HealthDeadLetterAt
	it.HealthLastSuccessAt = stored.HealthLastSuccessAt
}

// StateAttributes are the only attributes SetState names in its request:
// the key, the state, the config version (read and written) and the time of
// the change. The executions function's IAM role may update these and no
// other (a dynamodb:Attributes condition in template.yaml), so the API and
// console can pause and resume an instance but never rewrite its
// connection settings or secrets.
func StateAttributes() []string {
	return []string{AttrInstanceID, "state", "config_version", "updated_at"}
}

// SetState pauses or resumes an instance, storing the next config version,
// and returns it without secrets. It updates only StateAttributes, if the
// config version is still the one read; other attributes are never sent.
func (s *InstanceStore) SetState(ctx context.Context, id string, st apmc.State) (apmc.Instance, error) {
	if st != apmc.StateEnabled && st != apmc.StatePaused {
		return apmc.Instance{}, apmc.Invalidf("set state of instance %s: state %q must be %s or %s", id, st, apmc.StateEnabled, apmc.StatePaused)
	}
	// A state change is idempotent, so a lost race is simply tried again.
	var err error
	for range 3 {
		var it instanceItem
		if it, err = s.get(ctx, id); err != nil {
			return apmc.Instance{}, fmt.Errorf("set state: %w", err)
		}
		read := it.ConfigVersion
		it.State, it.ConfigVersion, it.UpdatedAt = st, read+1, s.now().UTC()
		if err = s.updateState(ctx, it, read); err == nil {
			return it.instance(), nil
		}
		if !errors.Is(err, apmc.ErrConflict) {
			break
		}
	}
	return apmc.Instance{}, fmt.Errorf("set state of instance %s: %w", id, err)
}

// updateState writes the item's state, config version and update time if the
// stored config version is still read; a failed condition wraps
// apmc.ErrConflict.
func (s *InstanceStore) updateState(ctx context.Context, it instanceItem, read int) error {
	update := expression.Set(expression.Name("state"), expression.Value(it.State)).
		Set(expression.Name("config_version"), expression.Value(it.ConfigVersion)).
		Set(expression.Name("updated_at"), expression.Value(it.UpdatedAt))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(versionIs(read)).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: it.InstanceID}},
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueNone,
	})
	if conditionFailed(err) {
		return fmt.Errorf("config version %d was changed by someone else: %w", read, apmc.ErrConflict)
	}
	return err
}

func versionIs(v int) expression.ConditionBuilder {
	return expression.Name("config_version").Equal(expression.Value(v))
}

// get reads the stored item; unknown or expired wraps apmc.ErrNotFound.
func (s *InstanceStore) get(ctx context.Context, id string) (instanceItem, error) {
	if id == "" {
		return instanceItem{}, fmt.Errorf("get instance: empty id: %w", apmc.ErrNotFound)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return instanceItem{}, fmt.Errorf("get instance %s: %w", id, err)
	}
	if len(out.Item) == 0 || expired(out.Item, s.now()) {
		return instanceItem{}, fmt.Errorf("instance %s: %w", id, apmc.ErrNotFound)
	}
	var it instanceItem
	if err := unmarshalItem(out.Item, &it); err != nil {
		return instanceItem{}, fmt.Errorf("get instance %s: decode item: %w", id, err)
	}
	return it, nil
}

// put writes the item under cond; a failed condition wraps apmc.ErrConflict.
func (s *InstanceStore) put(ctx context.Context, it instanceItem, cond expression.ConditionBuilder) error {
	it.UpdatedAt = s.now().UTC()
	item, err := marshalItem(it)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if conditionFailed(err) {
		return fmt.Errorf("the stored instance changed since it was read: %w", apmc.ErrConflict)
	}
	return err
}

// seal encrypts all secrets as one blob with one KMS call.
func (s *InstanceStore) seal(ctx context.Context, id string, sec apmc.Secrets) ([]byte, error) {
	plain, err := json.Marshal(sealedSecrets(sec))
	if err != nil {
		return nil, fmt.Errorf("seal secrets of instance %s: %w", id, err)
	}
	sealed, err := s.sealer.Seal(ctx, id, plain)
	if err != nil {
		return nil, fmt.Errorf("seal secrets of instance %s: %w", id, err)
	}
	return sealed, nil
}

func (s *InstanceStore) open(ctx context.Context, id string, sealed []byte) (apmc.Secrets, error) {
	plain, err := s.sealer.Open(ctx, id, sealed)
	if err != nil {
		return apmc.Secrets{}, fmt.Errorf("open secrets of instance %s: %w", id, err)
	}
	var sec sealedSecrets
	if err := json.Unmarshal(plain, &sec); err != nil {
		// The JSON error could quote the plaintext; keep it out.
		return apmc.Secrets{}, fmt.Errorf("open secrets of instance %s: sealed blob is not valid", id)
	}
	return apmc.Secrets(sec), nil
}

// setWebhookAuth stores the digests of sec's path tokens as the current
// ones and its signing secret. Of before, the digests still in their grace
// period stay accepted until they expire; a current one that is not
// sec's any more is dropped at once (use RotateWebhookTokens to keep it).
func (it *instanceItem) setWebhookAuth(sec apmc.Secrets, before map[apmc.Side][]apmc.TokenDigest, now time.Time) {
	it.AccessplanitTokens, it.MailchimpTokens = nil, nil
	for side, token := range map[apmc.Side]string{apmc.SideAccessplanit: sec.AccessplanitToken, apmc.SideMailchimp: sec.MailchimpToken} {
		var digests []apmc.TokenDigest
		if token != "" {
			digests = append(digests, apmc.TokenDigest{Digest: apmc.DigestToken(token)})
		}
		for _, d := range before[side] {
			if !d.ExpiresAt.IsZero() && now.Before(d.ExpiresAt) {
				digests = append(digests, d)
			}
		}
		if side == apmc.SideAccessplanit {
			it.AccessplanitTokens = digests
		} else {
			it.MailchimpTokens = digests
		}
	}
	it.SigningSecret = sec.MailchimpSigningSecret
}

// webhookTokens returns the stored digests by side.
func (it instanceItem) webhookTokens() map[apmc.Side][]apmc.TokenDigest {
	return map[apmc.Side][]apmc.TokenDigest{apmc.SideAccessplanit: it.AccessplanitTokens, apmc.SideMailchimp: it.MailchimpTokens}
}

// tokenAttr names the attribute holding a side's token digests.
func tokenAttr(side apmc.Side) string { return string(side) + "_token_digests" }

// WebhookAuthAttributes are the only attributes WebhookAuth reads for side
// (its projection): the key, the expiry and the side's token digests, and
// for Mailchimp also the signing secret and whether a signature is
// required. Each ingest function's IAM role may read these and no other (a
// dynamodb:Attributes condition in template.yaml), so the accessplanit
// endpoint cannot read the Mailchimp signing secret, and neither can read
// the sealed secrets or the connection settings.
func WebhookAuthAttributes(side apmc.Side) []string {
	attrs := []string{AttrInstanceID, AttrExpiresAt, tokenAttr(side)}
	if side == apmc.SideMailchimp {
		attrs = append(attrs, "webhook_signing_secret", "require_signature")
	}
	return attrs
}

// WebhookAuth returns what the webhook endpoint of side needs to
// authenticate a delivery. It reads only those attributes (a projection),
// never the sealed secrets, and calls no KMS. An instance stored before
// token digests existed has none, so it accepts no delivery until its
// secrets are written again (apmc instance configure or webhooks rotate).
func (s *InstanceStore) WebhookAuth(ctx context.Context, id string, side apmc.Side) (apmc.WebhookAuth, error) {
	if id == "" {
		return apmc.WebhookAuth{}, fmt.Errorf("webhook credentials: empty instance id: %w", apmc.ErrNotFound)
	}
	if side != apmc.SideAccessplanit && side != apmc.SideMailchimp {
		return apmc.WebhookAuth{}, fmt.Errorf("webhook credentials of instance %s: unknown side %q", id, side)
	}
	item, err := getProjected(ctx, s.client, s.table, instanceKey(id), WebhookAuthAttributes(side), false)
	if err != nil {
		return apmc.WebhookAuth{}, fmt.Errorf("webhook credentials of instance %s: %w", id, err)
	}
	if len(item) == 0 || expired(item, s.now()) {
		return apmc.WebhookAuth{}, fmt.Errorf("instance %s: %w", id, apmc.ErrNotFound)
	}
	var it instanceItem
	if err := unmarshalItem(item, &it); err != nil {
		return apmc.WebhookAuth{}, fmt.Errorf("webhook credentials of instance %s: decode item: %w", id, err)
	}
	auth := apmc.WebhookAuth{Tokens: it.webhookTokens()[side]}
	if side == apmc.SideMailchimp {
		auth.SigningSecret, auth.RequireSignature = it.SigningSecret, it.RequireSignature
	}
	return auth, nil
}

// RotateWebhookTokens replaces the instance's webhook path tokens with
// accessplanitToken and mailchimpToken, storing the next config version.
// The tokens they replace stay accepted for grace (none when grace is 0),
// then stop working. It returns the instance with its secrets opened, for
// registering the new URLs.
func (s *InstanceStore) RotateWebhookTokens(ctx context.Context, id, accessplanitToken, mailchimpToken string, grace time.Duration) (apmc.Instance, error) {
	if accessplanitToken == "" || mailchimpToken == "" {
		return apmc.Instance{}, apmc.Invalidf("rotate webhook tokens of instance %s: both new tokens are required", id)
	}
	if grace < 0 {
		return apmc.Instance{}, apmc.Invalidf("rotate webhook tokens of instance %s: grace %s is negative", id, grace)
	}
	it, err := s.get(ctx, id)
	if err != nil {
		return apmc.Instance{}, fmt.Errorf("rotate webhook tokens: %w", err)
	}
	sec, err := s.open(ctx, id, it.SealedSecrets)
	if err != nil {
		return apmc.Instance{}, fmt.Errorf("rotate webhook tokens: %w", err)
	}
	now := s.now()
	// The replaced tokens: the current digests, or for an instance stored
	// before digests existed, those of its sealed tokens.
	before := map[apmc.Side][]apmc.TokenDigest{}
	for side, token := range map[apmc.Side]string{apmc.SideAccessplanit: sec.AccessplanitToken, apmc.SideMailchimp: sec.MailchimpToken} {
		current := it.webhookTokens()[side]
		if len(current) == 0 && token != "" {
			current = []apmc.TokenDigest{{Digest: apmc.DigestToken(token)}}
		}
		for _, d := range current {
			if d.ExpiresAt.IsZero() {
				if grace == 0 {
					continue
				}
				d.ExpiresAt = now.Add(grace).UTC()
			}
			before[side] = append(before[side], d)
		}
	}
	sec.AccessplanitToken, sec.MailchimpToken = accessplanitToken, mailchimpToken
	if it.SealedSecrets, err = s.seal(ctx, id, sec); err != nil {
		return apmc.Instance{}, err
	}
	it.setWebhookAuth(sec, before, now)
	read := it.ConfigVersion
	it.ConfigVersion = read + 1
	if err := s.put(ctx, it, versionIs(read).And(healthUnchanged(it))); err != nil {
		return apmc.Instance{}, fmt.Errorf("rotate webhook tokens of instance %s: %w", id, err)
	}
	in := it.instance()
	in.Secrets = sec
	return in, nil
}
