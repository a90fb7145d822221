package apmc

import "strings"

// NormaliseEmail returns the form of an email address that identifies a
// contact: without surrounding spaces, in lower case. Mailchimp identifies a
// member by the lower-case address (its subscriber hash), and accessplanit's
// addresses are matched to Mailchimp's, so every email the service stores,
// compares, queries or hashes goes through this one function.
func NormaliseEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
