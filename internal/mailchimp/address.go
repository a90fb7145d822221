package mailchimp

import (
	"slices"
	"strings"
)

// addressParts are the parts of an address merge value, in the order they
// are joined when the value is flattened to one string.
var addressParts = []string{"addr1", "addr2", "city", "state", "zip", "country"}

// joinAddress flattens an address into one string: the non-empty parts in
// addressParts order, separated by two spaces (Mailchimp's own separator
// for an address given as one string).
func joinAddress(parts map[string]string) string {
	var out []string
	for _, k := range addressParts {
		if v := strings.TrimSpace(parts[k]); v != "" {
			out = append(out, v)
		}
	}
	return strings.Join(out, "  ")
}

// isAddressPart reports whether k names a part of an address.
func isAddressPart(k string) bool { return slices.Contains(addressParts, k) }
