package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TableDefinitions returns the CreateTable requests for the three tables,
// billed per request. The SAM template mirrors them.
func TableDefinitions(t Tables) []*dynamodb.CreateTableInput {
	str := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		ks := []types.KeySchemaElement{{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash}}
		if rng != "" {
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	gsi := func(name, hash, rng string, include []string) types.GlobalSecondaryIndex {
		p := &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
		if len(include) > 0 {
			p = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: include}
		}
		return types.GlobalSecondaryIndex{IndexName: aws.String(name), KeySchema: key(hash, rng), Projection: p}
	}
	return []*dynamodb.CreateTableInput{
		{
			TableName:            aws.String(t.Instances),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{str(AttrInstanceID)},
			KeySchema:            key(AttrInstanceID, ""),
		},
		{
			TableName:   aws.String(t.Executions),
			BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{
				str(AttrInstanceID), str(AttrExecutionID), str(AttrContactKey), str(AttrStatusKey),
			},
			KeySchema: key(AttrInstanceID, AttrExecutionID),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(IndexByContact, AttrContactKey, AttrExecutionID, ExecutionIndexAttributes),
				gsi(IndexByStatus, AttrStatusKey, AttrExecutionID, ExecutionIndexAttributes),
			},
		},
		{
			TableName:            aws.String(t.Contacts),
			BillingMode:          types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{str(AttrInstanceID), str(AttrEmail), str(AttrUserKey)},
			KeySchema:            key(AttrInstanceID, AttrEmail),
			GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
				gsi(IndexByUser, AttrUserKey, "", nil),
			},
		},
	}
}

// tableWait bounds how long CreateTables waits for a table to become active.
const tableWait = 2 * time.Minute

// CreateTables creates the three tables unless they exist, waits until they
// are active and enables TTL on expires_at where the server supports it.
func CreateTables(ctx context.Context, client *dynamodb.Client, t Tables) error {
	for _, in := range TableDefinitions(t) {
		name := aws.ToString(in.TableName)
		if name == "" {
			return errors.New("create tables: a table name is empty")
		}
		_, err := client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 100 * time.Millisecond
			o.MaxDelay = 2 * time.Second
		})
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, tableWait); err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
		if err := enableTTL(ctx, client, name); err != nil {
			return err
		}
	}
	return nil
}

// enableTTL turns TTL on for expires_at. A server that does not implement
// TTL, or reports it already enabled, is not an error: reads hide expired
// items either way.
func enableTTL(ctx context.Context, client *dynamodb.Client, table string) error {
	desc, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err == nil && desc.TimeToLiveDescription != nil {
		switch desc.TimeToLiveDescription.TimeToLiveStatus {
		case types.TimeToLiveStatusEnabled, types.TimeToLiveStatusEnabling:
			return nil
		}
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(AttrExpiresAt),
			Enabled:       aws.Bool(true),
		},
	})
	if err == nil || unsupported(err) {
		return nil
	}
	return fmt.Errorf("enable TTL on table %s: %w", table, err)
}
