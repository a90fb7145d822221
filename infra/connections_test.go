package infra

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apmc-sync/apmc/internal/dynamo"
)

// mailchimpConnectionLimit is how many connections Mailchimp allows one
// user at once, across everything using the user's API keys.
const mailchimpConnectionLimit = 10

// mailchimpFunctions are the functions that call Mailchimp.
var mailchimpFunctions = []string{"SyncFunction", "ReconcileFunction", "BackfillFunction"}

// TestMailchimpConnectionBudget checks that the stack keeps Mailchimp's
// connection limit whatever its concurrency: every function that calls
// Mailchimp may hold the slots of the shared budget (the contacts table's
// budget partitions, and nothing else of it beyond its other grants), the
// code keeps those slots where the grant points, and no other function
// talks to Mailchimp. SyncMaximumConcurrency is then free to exceed 10.
func TestMailchimpConnectionBudget(t *testing.T) {
	s := mustLoadStack(t)
	if p := dynamo.BudgetPartition("acct"); !strings.HasPrefix(p, "budget#") {
		t.Fatalf("BudgetPartition(acct) = %s, want it under the granted prefix budget#", p)
	}
	const cond = " if {ForAllValues:StringLike: {dynamodb:LeadingKeys: [budget#*]}}"
	for _, id := range mailchimpFunctions {
		grants := strings.Join(s.grants(t, id), "\n")
		for _, action := range []string{"dynamodb:Query", "dynamodb:UpdateItem"} {
			if want := action + " on ContactsTable" + cond; !strings.Contains(grants, want) {
				t.Errorf("%s grants lack %q: it could not share the Mailchimp budget", id, want)
			}
		}
	}
	var v float64
	p := s.typed.Parameters["SyncMaximumConcurrency"]
	if _, err := fmt.Sscan(fmt.Sprint(p.Default), &v); err != nil || v <= mailchimpConnectionLimit {
		t.Errorf("SyncMaximumConcurrency Default = %v, want more than %d (the budget, not the concurrency, keeps Mailchimp's limit)", p.Default, mailchimpConnectionLimit)
	}
	bvars := node(s.functionProperty("BackfillFunction", "Environment"), "Variables")
	if got := render(node(bvars, "MAILCHIMP_MAX_CONNECTIONS")); got != "!Ref BackfillMailchimpConnections" {
		t.Errorf("BackfillFunction MAILCHIMP_MAX_CONNECTIONS = %s, want !Ref BackfillMailchimpConnections", got)
	}
	if p := s.typed.Parameters["MailchimpConnectionsPerFunction"]; p.MaxValue == nil || *p.MaxValue > mailchimpConnectionLimit {
		t.Errorf("MailchimpConnectionsPerFunction MaxValue = %v, want at most %d", render(node(s.raw, "Parameters", "MailchimpConnectionsPerFunction", "MaxValue")), mailchimpConnectionLimit)
	}
	vars := node(s.functionProperty("SyncFunction", "Environment"), "Variables")
	if got := render(node(vars, "MAILCHIMP_MAX_CONNECTIONS")); got != "!Ref MailchimpConnectionsPerFunction" {
		t.Errorf("SyncFunction MAILCHIMP_MAX_CONNECTIONS = %s, want !Ref MailchimpConnectionsPerFunction", got)
	}
	// Only the sync, reconcile and backfill functions talk to Mailchimp.
	for _, id := range functionIDs {
		if slices.Contains(mailchimpFunctions, id) {
			continue
		}
		if got := node(s.functionProperty(id, "Environment"), "Variables", "MAILCHIMP_MAX_CONNECTIONS"); got != nil {
			t.Errorf("%s MAILCHIMP_MAX_CONNECTIONS = %s, want unset", id, render(got))
		}
	}
}
