// Package apptest gives the function constructors' tests a deployment on an
// in-process kumo: the tables, the queues, the secrets key and an instance,
// as the template would create them.
package apptest

import (
	"context"
	"testing"
	"time"

	"github.com/apmc-sync/apmc/internal/apmc"
	"github.com/apmc-sync/apmc/internal/app"
	"github.com/apmc-sync/apmc/internal/awstest"
	"github.com/apmc-sync/apmc/internal/dynamo"
	"github.com/apmc-sync/apmc/internal/queue"
	"github.com/apmc-sync/apmc/internal/secrets"
)

// Deployment is a deployment's resources on kumo.
type Deployment struct {
	Clients app.Clients
	Tables  dynamo.Tables
	Queues  queue.Queues
	// KeyID is the key the instances' secrets are sealed with.
	KeyID string
}

// New creates the resources under names of their own and the instances,
// secrets sealed.
func New(t *testing.T, instances ...apmc.Instance) Deployment {
	t.Helper()
	svc := awstest.Kumo(t)
	d := Deployment{
		Clients: app.Clients{DynamoDB: svc.DynamoDB, SQS: svc.SQS, KMS: svc.KMS},
		Tables:  svc.Tables(t, "app"),
		Queues:  svc.Queues(t, "app", 30),
		KeyID:   svc.Key(t),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := dynamo.NewInstanceStore(svc.DynamoDB, d.Tables.Instances, secrets.NewKMS(svc.KMS, d.KeyID))
	for _, in := range instances {
		if err := store.Create(ctx, in); err != nil {
			t.Fatalf("Create(%s) error = %v", in.ID, err)
		}
	}
	return d
}

// Instance is an enabled two-way instance with secrets unique to id.
func Instance(id string) apmc.Instance {
	return apmc.Instance{
		ID: id, Name: "Instance " + id, State: apmc.StateEnabled, Direction: apmc.DirectionBoth, StatusIfNew: "subscribed",
		MailchimpListID: "list-" + id, AccessplanitBaseURL: "http://127.0.0.1:9/api/v2", DefaultCompanyID: "3",
		Mappings: apmc.DefaultMappings(),
		Secrets: apmc.Secrets{MailchimpAPIKey: "mc-key-" + id + "-us21", AccessplanitAPIKey: "ap-key-" + id,
			AccessplanitToken: "ap-token-" + id + "-5c1d", MailchimpToken: "mc-token-" + id + "-9e2f"},
	}
}
