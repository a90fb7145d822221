// Package connector builds the Mailchimp and accessplanit API clients for an
// instance's credentials, once per instance configuration, so a warm function
// reuses connections, and keeps each Mailchimp API key within Mailchimp's
// limit of simultaneous connections.
package connector
