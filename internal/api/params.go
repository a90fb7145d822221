package api

import (
	"slices"
	"sort"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// filterParams are the query parameters parseQuery reads.
var filterParams = []string{"status", "flow", "from", "to", "original_only", "changed_only", "contact", "limit", "cursor"}

// onlyParams refuses query parameters outside known, naming them, so a
// misspelt filter (?stauts=failed) is an error rather than silently ignored.
func onlyParams(v map[string][]string, known []string) error {
	var unknown []string
	for k := range v {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	quoted := make([]string, len(unknown))
	for i, k := range unknown {
		quoted[i] = "\"" + k + "\""
	}
	noun := "parameter"
	if len(unknown) > 1 {
		noun = "parameters"
	}
	return apmc.Invalidf("unknown query %s %s; known: %s", noun, strings.Join(quoted, ", "), strings.Join(known, ", "))
}
