package dynamo

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestRecordMailchimpAccount stores the account of an instance that has
// none with one UpdateItem naming only MailchimpAccountAttributes (what the
// sync function's role allows), leaves the configuration version as it is,
// never replaces an account already stored and never makes an instance.
func TestRecordMailchimpAccount(t *testing.T) {
	sealer := newKMSSealer(t)
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		tables := newTables(t, b.client)
		operator := NewInstanceStore(b.client, tables.Instances, sealer)
		in := testInstance("inst-a")
		in.MailchimpAccountID = ""
		if err := operator.Create(ctx, in); err != nil {
			t.Fatalf("Create error: %v", err)
		}
		created, err := operator.Instance(ctx, "inst-a")
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		var rec recorder
		// The sync function's store: it opens secrets, but this write needs none.
		store := NewInstanceStore(rec.client(b.client), tables.Instances, nil)
		allowed := MailchimpAccountAttributes()
		for _, account := range []string{"acct-1", "acct-2"} {
			if err := store.RecordMailchimpAccount(ctx, "inst-a", account); err != nil {
				t.Fatalf("RecordMailchimpAccount(%s) error: %v", account, err)
			}
		}
		if err := store.RecordMailchimpAccount(ctx, "gone", "acct-1"); err != nil {
			t.Fatalf("RecordMailchimpAccount(unknown instance) error: %v", err)
		}
		for _, s := range rec.sent {
			in, ok := s.input.(*dynamodb.UpdateItemInput)
			if !ok {
				t.Errorf("RecordMailchimpAccount sent %s, want only UpdateItem", s.op)
				continue
			}
			if got := attributes(in); len(slices.DeleteFunc(slices.Clone(got), func(a string) bool { return slices.Contains(allowed, a) })) > 0 {
				t.Errorf("UpdateItem names attributes %v, want only %v", got, allowed)
			}
			if in.ReturnValues != types.ReturnValueNone {
				t.Errorf("UpdateItem ReturnValues = %q, want NONE", in.ReturnValues)
			}
		}
		got, err := operator.Instance(ctx, "inst-a")
		if err != nil {
			t.Fatalf("Instance error: %v", err)
		}
		if got.MailchimpAccountID != "acct-1" || got.ConfigVersion != created.ConfigVersion {
			t.Errorf("instance after RecordMailchimpAccount = account %q, config version %d; want acct-1 (the first recorded), %d", got.MailchimpAccountID, got.ConfigVersion, created.ConfigVersion)
		}
		if _, err := operator.Instance(ctx, "gone"); err == nil {
			t.Errorf("Instance(gone) after RecordMailchimpAccount = found, want no instance made")
		}
	})
}
