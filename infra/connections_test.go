package infra

import (
	"fmt"
	"testing"
)

// mailchimpConnectionLimit is how many connections Mailchimp allows one
// user at once, across everything using the user's API keys.
const mailchimpConnectionLimit = 10

// TestMailchimpConnectionBudget checks that, deployed with its defaults,
// the stack cannot exceed Mailchimp's connection limit: up to
// SyncMaximumConcurrency sync functions run at once, each keeping up to
// MAILCHIMP_MAX_CONNECTIONS (MailchimpConnectionsPerFunction) in flight,
// beside one reconcile function (reserved concurrency 1) keeping one.
func TestMailchimpConnectionBudget(t *testing.T) {
	s := mustLoadStack(t)
	defaultOf := func(name string) float64 {
		t.Helper()
		p, ok := s.typed.Parameters[name]
		if !ok {
			t.Fatalf("parameter %s missing", name)
		}
		var v float64
		if _, err := fmt.Sscan(fmt.Sprint(p.Default), &v); err != nil || v < 1 {
			t.Fatalf("parameter %s Default = %v, want a number of at least 1", name, p.Default)
		}
		return v
	}
	functions := defaultOf("SyncMaximumConcurrency")
	perFunction := defaultOf("MailchimpConnectionsPerFunction")
	backfill := defaultOf("BackfillMailchimpConnections")
	const reconcileConnections = 1
	if got := functions*perFunction + reconcileConnections + backfill; got > mailchimpConnectionLimit {
		t.Errorf("default SyncMaximumConcurrency × MailchimpConnectionsPerFunction + reconcile + BackfillMailchimpConnections = %v × %v + %v + %v = %v, want at most %d",
			functions, perFunction, reconcileConnections, backfill, got, mailchimpConnectionLimit)
	}
	bvars := node(s.functionProperty("BackfillFunction", "Environment"), "Variables")
	if got := render(node(bvars, "MAILCHIMP_MAX_CONNECTIONS")); got != "!Ref BackfillMailchimpConnections" {
		t.Errorf("BackfillFunction MAILCHIMP_MAX_CONNECTIONS = %s, want !Ref BackfillMailchimpConnections", got)
	}
	rvars := node(s.functionProperty("ReconcileFunction", "Environment"), "Variables")
	if got := render(node(rvars, "MAILCHIMP_MAX_CONNECTIONS")); got != fmt.Sprint(reconcileConnections) {
		t.Errorf("ReconcileFunction MAILCHIMP_MAX_CONNECTIONS = %s, want %d", got, reconcileConnections)
	}
	if got := render(s.functionProperty("ReconcileFunction", "ReservedConcurrentExecutions")); got != "1" {
		t.Errorf("ReconcileFunction ReservedConcurrentExecutions = %s, want 1 (one run at a time)", got)
	}
	if p := s.typed.Parameters["MailchimpConnectionsPerFunction"]; p.MaxValue == nil || *p.MaxValue > mailchimpConnectionLimit {
		t.Errorf("MailchimpConnectionsPerFunction MaxValue = %v, want at most %d", render(node(s.raw, "Parameters", "MailchimpConnectionsPerFunction", "MaxValue")), mailchimpConnectionLimit)
	}
	// The product bounds the stack only if the two parameters are what
	// the function and its event source actually use.
	vars := node(s.functionProperty("SyncFunction", "Environment"), "Variables")
	if got := render(node(vars, "MAILCHIMP_MAX_CONNECTIONS")); got != "!Ref MailchimpConnectionsPerFunction" {
		t.Errorf("SyncFunction MAILCHIMP_MAX_CONNECTIONS = %s, want !Ref MailchimpConnectionsPerFunction", got)
	}
	events, _ := s.functionProperty("SyncFunction", "Events").(map[string]any)
	for name, e := range events {
		if render(node(e, "Type")) != "SQS" {
			continue
		}
		if got := render(node(e, "Properties", "ScalingConfig", "MaximumConcurrency")); got != "!Ref SyncMaximumConcurrency" {
			t.Errorf("SyncFunction event %s MaximumConcurrency = %s, want !Ref SyncMaximumConcurrency", name, got)
		}
	}
	// Only the sync, reconcile and backfill functions talk to Mailchimp.
	for _, id := range functionIDs {
		if id == "SyncFunction" || id == "ReconcileFunction" || id == "BackfillFunction" {
			continue
		}
		if got := node(s.functionProperty(id, "Environment"), "Variables", "MAILCHIMP_MAX_CONNECTIONS"); got != nil {
			t.Errorf("%s MAILCHIMP_MAX_CONNECTIONS = %s, want unset", id, render(got))
		}
	}
}
