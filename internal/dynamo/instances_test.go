package dynamo

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-cmp/cmp"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// countingSealer counts the KMS calls made through it, or refuses them all
// when fail is set, to prove which reads never touch KMS.
type countingSealer struct {
	next         Sealer
	fail         bool
	seals, opens atomic.Int64
}

func (c *countingSealer) Seal(ctx context.Context, id string, p []byte) ([]byte, error) {
	c.seals.Add(1)
	if c.fail {
		return nil, errors.New("sealer must not be called")
	}
	return c.next.Seal(ctx, id, p)
}

func (c *countingSealer) Open(ctx context.Context, id string, b []byte) ([]byte, error) {
	c.opens.Add(1)
	if c.fail {
		return nil, errors.New("sealer must not be called")
	}
	return c.next.Open(ctx, id, b)
}

func newKMSSealer(t *testing.T) *secrets.KMS {
	t.Helper()
	client := kmsClient(t)
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("apmc dynamo test")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return secrets.NewKMS(client, aws.ToString(out.KeyMetadata.KeyId))
}

var testSecrets = apmc.Secrets{
	MailchimpAPIKey:        "mc-key-0123456789abcdef-us6",
	AccessplanitAPIKey:     "ap-key-fedcba9876543210",
	AccessplanitToken:      "ap-path-token-aaaa1111",
	MailchimpToken:         "mc-path-token-bbbb2222",
	MailchimpSigningSecret: "mc-signing-secret-cccc3333",
}

func testInstance(id string) apmc.Instance {
	return apmc.Instance{
		ID: id, Name: "Acme training", State: apmc.StateEnabled, Direction: apmc.DirectionBoth,
		MailchimpListID: "list1", StatusIfNew: "subscribed",
		AccessplanitBaseURL: "https://acme.accessplanit.com/accessplan", DefaultCompanyID: "42",
		Mappings:      append(apmc.DefaultMappings(), apmc.FieldMapping{MergeTag: "PHONE", Field: "Telephone", Type: apmc.TypePhone}),
		RetentionDays: 14, Secrets: testSecrets,
	}
}

func TestInstanceStoreCreateAndRead(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		counting := &countingSealer{next: sealer}
		store := NewInstanceStore(b.client, tables.Instances, counting)
		created := time.Now().UTC().Truncate(time.Millisecond)
		store.now = func() time.Time { return created }
		in := testInstance("inst-1")
		if err := store.Create(ctx, in); err != nil {
			t.Fatalf("Create(%s) error: %v", in.ID, err)
		}
		if got := counting.seals.Load(); got != 1 {
			t.Errorf("Create made %d Seal calls, want 1", got)
		}

		want := in
		want.ConfigVersion = 1
		want.CreatedAt = created // the store's clock
		got, err := store.Instance(ctx, in.ID)
		if err != nil {
			t.Fatalf("Instance(%s) error: %v", in.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Instance(%s) mismatch (-want +got):\n%s", in.ID, diff)
		}
		if got := counting.opens.Load(); got != 1 {
			t.Errorf("Instance made %d Open calls, want 1", got)
		}

		// Display and List never reach KMS: a sealer that fails proves it.
		display := NewInstanceStore(b.client, tables.Instances, &countingSealer{fail: true})
		wantDisplay := want
		wantDisplay.Secrets = apmc.Secrets{}
		gotDisplay, err := display.Display(ctx, in.ID)
		if err != nil {
			t.Fatalf("Display(%s) error: %v", in.ID, err)
		}
		if diff := cmp.Diff(wantDisplay, gotDisplay); diff != "" {
			t.Errorf("Display(%s) mismatch (-want +got):\n%s", in.ID, diff)
		}
		list, err := display.List(ctx)
		if err != nil {
			t.Fatalf("List() error: %v", err)
		}
		if diff := cmp.Diff([]apmc.Instance{wantDisplay}, list); diff != "" {
			t.Errorf("List() mismatch (-want +got):\n%s", diff)
		}
		if _, err := display.Instance(ctx, in.ID); err == nil {
			t.Errorf("Instance(%s) with a failing sealer error = nil, want an error", in.ID)
		}

		// The stored item holds no secret in clear but the Mailchimp signing
		// secret, which the Mailchimp endpoint reads without KMS to verify
		// deliveries; the path tokens are there as digests only.
		raw, err := b.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(tables.Instances),
			Key:       map[string]types.AttributeValue{AttrInstanceID: &types.AttributeValueMemberS{Value: in.ID}},
		})
		if err != nil {
			t.Fatalf("GetItem(%s) error: %v", in.ID, err)
		}
		if len(raw.Item) == 0 {
			t.Fatalf("GetItem(%s) = no item, want the stored instance", in.ID)
		}
		for _, secret := range testSecrets.Values() {
			if secret == testSecrets.MailchimpSigningSecret {
				continue
			}
			if containsText(raw.Item, secret) {
				t.Errorf("stored item of %s holds secret %q in clear", in.ID, secret)
			}
		}
	})
}

func TestInstanceStoreErrors(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		if err := store.Create(ctx, testInstance("taken")); err != nil {
			t.Fatalf("Create(taken) error: %v", err)
		}
		invalid := testInstance("bad")
		invalid.Direction = "sideways"
		stale := testInstance("taken")
		stale.ConfigVersion = 7
		tests := []struct {
			name  string
			do    func() error
			check func(error) bool
			want  string
		}{
			{"create existing", func() error { return store.Create(ctx, testInstance("taken")) }, isConflict, "ErrConflict"},
			{"create invalid", func() error { return store.Create(ctx, invalid) }, apmc.IsInvalid, "invalid"},
			{"update invalid", func() error { return store.Update(ctx, invalid) }, apmc.IsInvalid, "invalid"},
			{"update unknown", func() error { return store.Update(ctx, testInstance("nope")) }, isNotFound, "ErrNotFound"},
			{"update stale", func() error { return store.Update(ctx, stale) }, isConflict, "ErrConflict"},
			{"instance unknown", func() error { _, err := store.Instance(ctx, "nope"); return err }, isNotFound, "ErrNotFound"},
			{"display unknown", func() error { _, err := store.Display(ctx, "nope"); return err }, isNotFound, "ErrNotFound"},
			{"set state unknown", func() error { _, err := store.SetState(ctx, "nope", apmc.StatePaused); return err }, isNotFound, "ErrNotFound"},
			{"set state invalid", func() error { _, err := store.SetState(ctx, "taken", "asleep"); return err }, apmc.IsInvalid, "invalid"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.do()
				if !tt.check(err) {
					t.Errorf("%s: error = %v, want %s", tt.name, err, tt.want)
				}
				for _, secret := range testSecrets.Values() {
					if err != nil && containsString(err.Error(), secret) {
						t.Errorf("%s: error %q holds a secret", tt.name, err)
					}
				}
			})
		}
	})
}

func TestInstanceStoreUpdateAndSetState(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		in := testInstance("inst-u")
		if err := store.Create(ctx, in); err != nil {
			t.Fatalf("Create error: %v", err)
		}

		// Saving back what Display returned keeps the secrets.
		shown, err := store.Display(ctx, in.ID)
		if err != nil {
			t.Fatalf("Display error: %v", err)
		}
		shown.Name = "Renamed"
		if err := store.Update(ctx, shown); err != nil {
			t.Fatalf("Update(version %d) error: %v", shown.ConfigVersion, err)
		}
		got, err := store.Instance(ctx, in.ID)
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		if got.Name != "Renamed" || got.ConfigVersion != 2 || got.Secrets != testSecrets {
			t.Errorf("Instance after Update = name %q version %d secrets kept %v, want Renamed 2 true", got.Name, got.ConfigVersion, got.Secrets == testSecrets)
		}
		// The creation time is the store's, kept by every update: an edited
		// or forged one changes nothing.
		if shown.CreatedAt.IsZero() || !got.CreatedAt.Equal(shown.CreatedAt) {
			t.Errorf("CreatedAt after Create = %v, after Update = %v; want a time, kept", shown.CreatedAt, got.CreatedAt)
		}
		forged := got
		forged.CreatedAt = shown.CreatedAt.Add(time.Hour)
		if err := store.Update(ctx, forged); err != nil {
			t.Fatalf("Update(other creation time) error: %v", err)
		}
		if got, err = store.Instance(ctx, in.ID); err != nil || !got.CreatedAt.Equal(shown.CreatedAt) {
			t.Errorf("CreatedAt after an Update naming another = %v, %v; want %v", got.CreatedAt, err, shown.CreatedAt)
		}

		// The same version again lost the race.
		if err := store.Update(ctx, shown); !isConflict(err) {
			t.Errorf("Update(stale version %d) error = %v, want ErrConflict", shown.ConfigVersion, err)
		}

		// New secrets replace the old ones.
		got.Secrets.MailchimpAPIKey = "mc-key-new-us6"
		if err := store.Update(ctx, got); err != nil {
			t.Fatalf("Update(new secrets) error: %v", err)
		}
		if again, err := store.Instance(ctx, in.ID); err != nil || again.Secrets.MailchimpAPIKey != "mc-key-new-us6" || again.ConfigVersion != 4 {
			t.Errorf("Instance after secret change = key %q version %d, %v; want mc-key-new-us6 4", again.Secrets.MailchimpAPIKey, again.ConfigVersion, err)
		}

		// A writer that read an older version loses at DynamoDB's condition
		// check, even when its own read said otherwise.
		raced, err := store.get(ctx, in.ID)
		if err != nil {
			t.Fatalf("get error: %v", err)
		}
		if err := store.put(ctx, raced, versionIs(raced.ConfigVersion-1)); !isConflict(err) {
			t.Errorf("put(condition on version %d, stored %d) error = %v, want ErrConflict", raced.ConfigVersion-1, raced.ConfigVersion, err)
		}

		tests := []struct {
			state       apmc.State
			wantVersion int
		}{
			{apmc.StatePaused, 5},
			{apmc.StatePaused, 6},
			{apmc.StateEnabled, 7},
		}
		for _, tt := range tests {
			out, err := store.SetState(ctx, in.ID, tt.state)
			if err != nil {
				t.Fatalf("SetState(%s) error: %v", tt.state, err)
			}
			if out.State != tt.state || out.ConfigVersion != tt.wantVersion || out.Secrets != (apmc.Secrets{}) {
				t.Errorf("SetState(%s) = state %s version %d (secrets empty %v), want %s %d true", tt.state, out.State, out.ConfigVersion, out.Secrets == (apmc.Secrets{}), tt.state, tt.wantVersion)
			}
			stored, err := store.Display(ctx, in.ID)
			if err != nil || stored.State != tt.state || stored.ConfigVersion != tt.wantVersion {
				t.Errorf("Display after SetState(%s) = %s %d %v, want %s %d", tt.state, stored.State, stored.ConfigVersion, err, tt.state, tt.wantVersion)
			}
		}
	})
}

func TestInstanceStoreHidesExpired(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		store := NewInstanceStore(b.client, tables.Instances, sealer)
		item, err := marshalItem(instanceItem{InstanceID: "gone", Name: "gone", ExpiresAt: time.Now().Add(-time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tables.Instances), Item: item}); err != nil {
			t.Fatalf("PutItem error: %v", err)
		}
		if _, err := store.Display(ctx, "gone"); !isNotFound(err) {
			t.Errorf("Display(expired) error = %v, want ErrNotFound", err)
		}
		if list, err := store.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("List() = %d instances, %v; want none", len(list), err)
		}
		// An expired leftover does not block creating the id again.
		if err := store.Create(ctx, testInstance("gone")); err != nil {
			t.Errorf("Create(over expired) error: %v", err)
		}
	})
}

func isConflict(err error) bool { return errors.Is(err, apmc.ErrConflict) }
func isNotFound(err error) bool { return errors.Is(err, apmc.ErrNotFound) }

func containsString(s, sub string) bool { return sub != "" && strings.Contains(s, sub) }
