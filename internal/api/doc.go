// Package api is the operators' JSON API over instances and executions, as a
// plain net/http handler. Every route is authenticated: in AWS by IAM on the
// HTTP API, locally (and for the console) by the operator token.
package api
