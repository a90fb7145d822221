package accessplanit

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// normalise renders one JSON value as text; ok is false for null, absent
// or invalid values.
func normalise(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case 'n':
		return "", false
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return "", false
		}
		return strconv.FormatBool(b), true
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case '[', '{':
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return "", false
		}
		return buf.String(), true
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", false
	}
	return plainNumber(n.String()), true
}

// plainNumber writes a JSON number in plain decimal: no exponent, no
// trailing zeros after the point, no point when it is whole. It works on
// the digits, so large IDs keep every digit. Absurd exponents are left as
// they are rather than expanded.
func plainNumber(s string) string {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	exp := 0
	if i := strings.IndexAny(body, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(body[i+1:], "+"))
		if err != nil || e > 1000 || e < -1000 {
			return s
		}
		exp, body = e, body[:i]
	}
	intPart, frac, _ := strings.Cut(body, ".")
	digits := intPart + frac
	point := len(intPart) + exp
	switch {
	case point <= 0:
		intPart, frac = "0", strings.Repeat("0", -point)+digits
	case point >= len(digits):
		intPart, frac = digits+strings.Repeat("0", point-len(digits)), ""
	default:
		intPart, frac = digits[:point], digits[point:]
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}
