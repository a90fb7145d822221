package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// ContactStore keeps contact sync state, one item per instance and email.
type ContactStore struct {
	client *dynamodb.Client
	table  string
	now    func() time.Time
}

var _ apmc.Contacts = (*ContactStore)(nil)

// NewContactStore returns a store over the contacts table.
func NewContactStore(client *dynamodb.Client, table string) *ContactStore {
	return &ContactStore{client: client, table: table, now: time.Now}
}

// contactItem is a contact as stored. user_key is set only when the
// accessplanit User is known, so the by_user index holds linked contacts only.
type contactItem struct {
	InstanceID string `json:"instance_id"`
	Email      string `json:"email"`
	UserID     string `json:"user_id,omitempty"`
	UserKey    string `json:"user_key,omitempty"`
	// MemberContactID is the linked Mailchimp member's contact_id.
	MemberContactID string         `json:"member_contact_id,omitempty"`
	MovedTo         string         `json:"moved_to,omitempty"`
	MovedFrom       string         `json:"moved_from,omitempty"`
	MarketingOptIn  *bool          `json:"marketing_opt_in,omitempty"`
	Mailchimp       apmc.SideState `json:"mailchimp"`
	Accessplanit    apmc.SideState `json:"accessplanit"`
	Version         int64          `json:"version"`
	UpdatedAt       time.Time      `json:"updated_at"`
	ExpiresAt       int64          `json:"expires_at,omitempty"`
	// InFlightMailchimp and InFlightAccessplanit are announced writes
	// (AnnounceWrites): set by an update that leaves the rest of the item
	// and its version alone, dropped by the next save, which puts the whole
	// item. An item holding only an announcement has no version: it is no
	// contact state yet.
	InFlightMailchimp    *apmc.PendingWrite `json:"in_flight_mailchimp,omitempty"`
	InFlightAccessplanit *apmc.PendingWrite `json:"in_flight_accessplanit,omitempty"`
}

// The attributes of announced writes, by side.
var inFlightAttr = map[apmc.Side]string{
	apmc.SideMailchimp:    "in_flight_mailchimp",
	apmc.SideAccessplanit: "in_flight_accessplanit",
}

func (it contactItem) contact() apmc.Contact {
	c := apmc.Contact{
		InstanceID: it.InstanceID, Email: it.Email, UserID: it.UserID, MemberContactID: it.MemberContactID, MovedTo: it.MovedTo, MovedFrom: it.MovedFrom, MarketingOptIn: it.MarketingOptIn,
		Mailchimp: it.Mailchimp, Accessplanit: it.Accessplanit,
		Version: it.Version, UpdatedAt: it.UpdatedAt,
	}
	c.Mailchimp.InFlight, c.Accessplanit.InFlight = it.InFlightMailchimp, it.InFlightAccessplanit
	return c
}

func contactKey(instanceID, email string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrInstanceID: &types.AttributeValueMemberS{Value: instanceID},
		AttrEmail:      &types.AttributeValueMemberS{Value: apmc.NormaliseEmail(email)},
	}
}

// Contact returns the state for an email; none wraps apmc.ErrNotFound. A
// contact with no state but an announced write is returned with Version 0.
func (s *ContactStore) Contact(ctx context.Context, instanceID, email string) (apmc.Contact, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            contactKey(instanceID, email),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return apmc.Contact{}, fmt.Errorf("get contact %s of instance %s: %w", email, instanceID, err)
	}
	if len(out.Item) == 0 || expired(out.Item, s.now()) {
		return apmc.Contact{}, fmt.Errorf("contact %s of instance %s: %w", email, instanceID, apmc.ErrNotFound)
	}
	var it contactItem
	if err := unmarshalItem(out.Item, &it); err != nil {
		return apmc.Contact{}, fmt.Errorf("get contact %s of instance %s: decode item: %w", email, instanceID, err)
	}
	return it.contact(), nil
}

// ContactByUserID returns the state linked to an accessplanit User; none
// wraps apmc.ErrNotFound. The by_user index holds the keys only, so each
// contact it names is read from the table. Should the index briefly hold two
// links (an email change in flight), the most recently updated wins.
func (s *ContactStore) ContactByUserID(ctx context.Context, instanceID, userID string) (apmc.Contact, error) {
	if userID == "" {
		return apmc.Contact{}, fmt.Errorf("contact of user \"\" in instance %s: %w", instanceID, apmc.ErrNotFound)
	}
	keyCond := expression.Key(AttrUserKey).Equal(expression.Value(compositeKey(instanceID, userID)))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		return apmc.Contact{}, fmt.Errorf("contact of user %s: build query: %w", userID, err)
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(IndexByUser),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}
	var best *apmc.Contact
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return apmc.Contact{}, fmt.Errorf("contact of user %s in instance %s: %w", userID, instanceID, err)
		}
		for _, raw := range page.Items {
			email, _ := raw[AttrEmail].(*types.AttributeValueMemberS)
			if email == nil {
				continue
			}
			c, err := s.Contact(ctx, instanceID, email.Value)
			switch {
			case errors.Is(err, apmc.ErrNotFound):
				continue // removed or expired since the index was written
			case err != nil:
				return apmc.Contact{}, fmt.Errorf("contact of user %s: %w", userID, err)
			}
			if c.UserID == userID && (best == nil || c.UpdatedAt.After(best.UpdatedAt)) {
				best = &c
			}
		}
	}
	if best == nil {
		return apmc.Contact{}, fmt.Errorf("contact of user %s in instance %s: %w", userID, instanceID, apmc.ErrNotFound)
	}
	return *best, nil
}

// SaveContact writes c if the stored version is still c.Version (0: none
// stored), storing c.Version+1; otherwise it returns an error wrapping
// apmc.ErrConflict.
func (s *ContactStore) SaveContact(ctx context.Context, c apmc.Contact) error {
	email := apmc.NormaliseEmail(c.Email)
	if c.InstanceID == "" || email == "" {
		return apmc.Invalidf("save contact: instance id and email are required")
	}
	it := contactItem{
		InstanceID: c.InstanceID, Email: email, UserID: c.UserID, MemberContactID: c.MemberContactID, MovedTo: c.MovedTo, MovedFrom: c.MovedFrom, MarketingOptIn: c.MarketingOptIn,
		Mailchimp: c.Mailchimp, Accessplanit: c.Accessplanit,
		Version: c.Version + 1, UpdatedAt: c.UpdatedAt,
	}
	if it.UpdatedAt.IsZero() {
		it.UpdatedAt = s.now().UTC()
	}
	if c.UserID != "" {
		it.UserKey = compositeKey(c.InstanceID, c.UserID)
	}
	item, err := marshalItem(it)
	if err != nil {
		return fmt.Errorf("save contact %s: encode item: %w", email, err)
	}
	// A new state may replace an item that holds only an announcement.
	cond := expression.Or(
		expression.AttributeNotExists(expression.Name("version")),
		expression.Name(AttrExpiresAt).LessThanEqual(expression.Value(s.now().Unix())),
	)
	if c.Version != 0 {
		cond = expression.Name("version").Equal(expression.Value(c.Version))
	}
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("save contact %s: build condition: %w", email, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	switch {
	case conditionFailed(err):
		return fmt.Errorf("save contact %s of instance %s: version %d is no longer stored: %w", email, c.InstanceID, c.Version, apmc.ErrConflict)
	case err != nil:
		return fmt.Errorf("save contact %s of instance %s: %w", email, c.InstanceID, err)
	}
	return nil
}

// DeleteContact removes the state for an email; deleting none is not an error.
func (s *ContactStore) DeleteContact(ctx context.Context, instanceID, email string) error {
	_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table),
		Key:       contactKey(instanceID, email),
	})
	if err != nil {
		return fmt.Errorf("delete contact %s of instance %s: %w", email, instanceID, err)
	}
	return nil
}
