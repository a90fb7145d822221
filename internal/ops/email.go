package ops

import "strings"

func normalEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
