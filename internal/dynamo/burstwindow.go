package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// Burst windows (apmc.BurstWindow) live in the contacts table, each
// instance's in a partition of its own, BurstWindowPartitionPrefix + the
// instance id, under the sort key "burst-window", so the ingest functions'
// roles may read and write there (dynamodb:LeadingKeys and
// dynamodb:Attributes conditions) and nowhere near a contact. Times are
// Unix milliseconds, numbers, for the conditions that only ever move a
// window's end forward.
const BurstWindowPartitionPrefix = "lane#"

const (
	burstWindowKey = "burst-window"
	attrSinceMS    = "since_ms"
	attrUntilMS    = "until_ms"
)

// BurstWindowAttributes are the only attributes the burst window requests
// name: the key and the two times (the ingest functions' IAM condition).
func BurstWindowAttributes() []string {
	return []string{AttrInstanceID, AttrEmail, attrSinceMS, attrUntilMS}
}

var _ apmc.BurstWindows = (*ContactStore)(nil)

func burstWindowKeyOf(instanceID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrInstanceID: &types.AttributeValueMemberS{Value: BurstWindowPartitionPrefix + instanceID},
		AttrEmail:      &types.AttributeValueMemberS{Value: burstWindowKey},
	}
}

// BurstWindow returns the instance's window, read eventually consistent: a
// read a moment old may miss the latest extension. The sync then sees less
// of the window (it announces a write that needed none); an ingest function
// keeps the old end, which an extension is made long enough before (keep,
// ExtendBurstWindow) for the function to read the new one in time.
func (s *ContactStore) BurstWindow(ctx context.Context, instanceID string) (apmc.BurstWindow, error) {
	item, err := getProjected(ctx, s.client, s.table, burstWindowKeyOf(instanceID), []string{attrSinceMS, attrUntilMS}, false)
	if err != nil {
		return apmc.BurstWindow{}, fmt.Errorf("read the burst window of instance %s: %w", instanceID, err)
	}
	return burstWindowOf(item), nil
}

// ExtendBurstWindow extends the open window to now + BurstWindowLength,
// keeping its start when its end is more than keep away, or opens one at now
// (none open, or one ending within keep); when another function has
// extended it further meanwhile, the stored window is returned as it is.
func (s *ContactStore) ExtendBurstWindow(ctx context.Context, instanceID string, now time.Time, keep time.Duration) (apmc.BurstWindow, error) {
	nowMS, untilMS, keepMS := ms(now), ms(now.Add(apmc.BurstWindowLength)), ms(now.Add(keep))
	names := map[string]string{"#s": attrSinceMS, "#u": attrUntilMS}
	tries := []struct {
		update, cond string
	}{
		// An open window far enough from its end: its end moves
		// forward, its start stays.
		{"SET #u = :u, #s = if_not_exists(#s, :now)", "#u > :keep AND #u < :u"},
		// None, a closed one, or one too near its end for every function
		// to read the new end in time: a window starting now.
		{"SET #s = :now, #u = :u", "attribute_not_exists(#u) OR #u <= :keep"},
	}
	for _, try := range tries {
		out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.table),
			Key:                      burstWindowKeyOf(instanceID),
			UpdateExpression:         aws.String(try.update),
			ConditionExpression:      aws.String(try.cond),
			ExpressionAttributeNames: names,
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now":  &types.AttributeValueMemberN{Value: strconv.FormatInt(nowMS, 10)},
				":u":    &types.AttributeValueMemberN{Value: strconv.FormatInt(untilMS, 10)},
				":keep": &types.AttributeValueMemberN{Value: strconv.FormatInt(keepMS, 10)},
			},
			// Both times are set: the new values of the updated
			// attributes are the window (the ingest roles may not ask
			// for more than they may name).
			ReturnValues: types.ReturnValueUpdatedNew,
		})
		if err == nil {
			return burstWindowOf(out.Attributes), nil
		}
		if !conditionFailed(err) {
			return apmc.BurstWindow{}, fmt.Errorf("extend the burst window of instance %s: %w", instanceID, err)
		}
	}
	// Extended further by another function meanwhile.
	return s.BurstWindow(ctx, instanceID)
}

func burstWindowOf(item map[string]types.AttributeValue) apmc.BurstWindow {
	return apmc.BurstWindow{Since: msTime(item[attrSinceMS]), Until: msTime(item[attrUntilMS])}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msTime(v types.AttributeValue) time.Time {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(i).UTC()
}
