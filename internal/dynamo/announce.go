package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

var _ apmc.WriteAnnouncer = (*ContactStore)(nil)

// AnnounceAttributes are the attributes an announcement's update names: the
// contact's key and the announcement attributes (the template grants the
// sync function no other update of a contact).
func AnnounceAttributes() []string {
	return []string{AttrInstanceID, AttrEmail, inFlightAttr[apmc.SideMailchimp], inFlightAttr[apmc.SideAccessplanit]}
}

// maxTransactItems is the most items one TransactWriteItems takes.
const maxTransactItems = 100

// AnnounceWrites records announced writes in the contacts' items (an item
// is created for a contact that has none yet), leaving their states and
// versions alone. One contact is one UpdateItem; several are written
// together in TransactWriteItems of up to 100 (DynamoDB's batch writes take
// only whole items, which would overwrite the states), and one by one when
// a transaction is refused (another request writing one of its items).
func (s *ContactStore) AnnounceWrites(ctx context.Context, as []apmc.Announcement) error {
	updates, err := announceUpdates(s.table, as)
	if err != nil {
		return err
	}
	for start := 0; start < len(updates); start += maxTransactItems {
		chunk := updates[start:min(start+maxTransactItems, len(updates))]
		if len(chunk) > 1 {
			items := make([]types.TransactWriteItem, len(chunk))
			for i := range chunk {
				items[i] = types.TransactWriteItem{Update: &chunk[i]}
			}
			_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
			var canceled *types.TransactionCanceledException
			switch {
			case err == nil:
				continue
			case !errors.As(err, &canceled):
				return fmt.Errorf("announce %d writes: %w", len(chunk), err)
			}
		}
		for _, u := range chunk {
			_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName: u.TableName, Key: u.Key, UpdateExpression: u.UpdateExpression,
				ExpressionAttributeNames: u.ExpressionAttributeNames, ExpressionAttributeValues: u.ExpressionAttributeValues,
			})
			if err != nil {
				return fmt.Errorf("announce a write: %w", err)
			}
		}
	}
	return nil
}

// announceUpdates turns announcements into one update per contact (a
// transaction may name an item once), the latest announcement of each side
// winning.
func announceUpdates(table string, as []apmc.Announcement) ([]types.Update, error) {
	type sides map[apmc.Side]apmc.PendingWrite
	var order []apmc.ContactKey
	byKey := map[apmc.ContactKey]sides{}
	for _, a := range as {
		k := apmc.ContactKey{InstanceID: a.Key.InstanceID, Email: apmc.NormaliseEmail(a.Key.Email)}
		if k.InstanceID == "" || k.Email == "" || inFlightAttr[a.Side] == "" {
			return nil, apmc.Invalidf("announce a write: instance id, email and side are required")
		}
		if byKey[k] == nil {
			byKey[k] = sides{}
			order = append(order, k)
		}
		byKey[k][a.Side] = apmc.PendingWrite{Fingerprint: a.Fingerprint, At: a.At.UTC()}
	}
	out := make([]types.Update, 0, len(order))
	for _, k := range order {
		names := map[string]string{}
		values := map[string]types.AttributeValue{}
		expr := "SET "
		for _, side := range []apmc.Side{apmc.SideMailchimp, apmc.SideAccessplanit} {
			w, ok := byKey[k][side]
			if !ok {
				continue
			}
			if len(names) > 0 {
				expr += ", "
			}
			n, v := "#"+string(side), ":"+string(side)
			names[n] = inFlightAttr[side]
			av, err := attributevalue.MarshalWithOptions(w, func(o *attributevalue.EncoderOptions) { o.TagKey = tagKey })
			if err != nil {
				return nil, fmt.Errorf("announce a write: encode it: %w", err)
			}
			values[v] = av
			expr += n + " = " + v
		}
		out = append(out, types.Update{
			TableName: aws.String(table), Key: contactKey(k.InstanceID, k.Email), UpdateExpression: aws.String(expr),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		})
	}
	return out, nil
}
