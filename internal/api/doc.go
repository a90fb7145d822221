// Package api is the operators' JSON API over instances and executions, as a
// plain net/http handler, described by the OpenAPI 3.1 document it serves at
// GET /api/openapi.json. Every other route is authenticated: in AWS by IAM on
// the HTTP API, locally (and for the console) by the operator token.
package api
