package accessplanit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/apmc-sync/apmc/internal/apmc"
)

// CustomField is one custom field of the User module, a property named
// "CF_<Name>" on every User.
type CustomField struct {
	// Name is the property name, with its "CF_" prefix.
	Name string `json:"name"`
	// Label is what the platform's UI calls it, when known.
	Label string `json:"label,omitempty"`
	// Type is the platform's data type for it, when known.
	Type string `json:"type,omitempty"`
}

// UserField describes the custom field as the domain's rules read it: a
// type naming a date holds a date-time, anything else is taken as text.
func (c CustomField) UserField() apmc.UserField {
	kind := apmc.KindText
	if strings.Contains(strings.ToLower(c.Type), "date") {
		kind = apmc.KindDate
	}
	return apmc.UserField{Name: c.Name, Kind: kind}
}

// CustomFields lists the custom fields of the User module.
//
// ASSUMPTION: GET CustomFieldMetadata lists custom fields of every module,
// each with its module ("Module", or "ModuleName"), its property name
// ("FieldName", "PropertyName" or "Name", with or without the "CF_"
// prefix), and optionally "Label"/"DisplayName" and "DataType"/"Type". The
// list is asked for filtered to the User module; a platform that rejects the
// filter is asked for everything, and the list is filtered here.
func (c *Client) CustomFields(ctx context.Context) ([]CustomField, error) {
	body, _, err := c.do(ctx, http.MethodGet, "CustomFieldMetadata", query{{"$filter", "Module eq 'User'"}}, nil)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusBadRequest {
		body, _, err = c.do(ctx, http.MethodGet, "CustomFieldMetadata", nil, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("list accessplanit custom fields: %w", err)
	}
	items, err := decodeList(body)
	if err != nil {
		return nil, fmt.Errorf("list accessplanit custom fields: %w", err)
	}
	var out []CustomField
	seen := map[string]bool{}
	for _, item := range items {
		obj, err := decodeObject(item)
		if err != nil {
			return nil, fmt.Errorf("list accessplanit custom fields: %w", err)
		}
		text := func(names ...string) string {
			v, ok := lookup(obj, names...)
			if !ok {
				return ""
			}
			s, _ := normalise(v)
			return strings.TrimSpace(s)
		}
		if module := text("Module", "ModuleName"); module != "" && !strings.EqualFold(module, "User") {
			continue
		}
		name := text("FieldName", "PropertyName", "Name")
		if name == "" {
			continue
		}
		if !strings.HasPrefix(strings.ToUpper(name), "CF_") {
			name = "CF_" + name
		}
		name = canonicalField(name)
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, CustomField{Name: name, Label: text("Label", "DisplayName"), Type: text("DataType", "Type")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
