package infra

import (
	"os"
	"strings"
	"testing"
)

// TestSAMConfigDefaults checks the deploy defaults that the README's
// `sam deploy --guided --config-file infra/samconfig.toml` relies on.
func TestSAMConfigDefaults(t *testing.T) {
	data, err := os.ReadFile("samconfig.toml")
	if err != nil {
		t.Fatalf("read samconfig.toml: %v", err)
	}
	sections := map[string][]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			sections[section] = append(sections[section], strings.Join(strings.Fields(line), " "))
		}
	}
	tests := []struct {
		section string
		line    string
	}{
		{"", "version = 0.1"},
		{"default.global.parameters", `stack_name = "apmc"`},
		{"default.deploy.parameters", `capabilities = "CAPABILITY_IAM"`},
		{"default.deploy.parameters", "resolve_s3 = true"},
		{"default.deploy.parameters", "confirm_changeset = true"},
	}
	for _, tt := range tests {
		found := false
		for _, l := range sections[tt.section] {
			found = found || l == tt.line
		}
		if !found {
			t.Errorf("samconfig.toml [%s] lacks %q; has %q", tt.section, tt.line, sections[tt.section])
		}
	}
	for name, lines := range sections {
		for _, l := range lines {
			if strings.HasPrefix(l, "parameter_overrides") && strings.Contains(l, "OperatorTokenHash") {
				t.Errorf("samconfig.toml [%s] overrides OperatorTokenHash, want the operator's hash kept out of git", name)
			}
		}
	}
}
