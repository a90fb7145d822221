// Package dynamo keeps the service's state in DynamoDB: instances (with
// their secrets sealed), contact sync state and execution history.
//
// Three tables hold it; their names come from a Tables value and their key
// schema, indexes and TTL attribute are defined once here (TableDefinitions)
// so the deployment template and local servers agree with the stores.
// Every read treats an item whose expires_at lies in the past as absent,
// because DynamoDB's TTL deletes expired items lazily.
package dynamo
