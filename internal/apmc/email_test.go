package apmc

import "testing"

func TestNormaliseEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ada@example.com", "ada@example.com"},
		{"Ada@Example.COM", "ada@example.com"},
		{"  ada@example.com\t\n", "ada@example.com"},
		{" \tAda.Lovelace+News@Example.co.uk ", "ada.lovelace+news@example.co.uk"},
		{"ÉLODIE@EXAMPLE.FR", "élodie@example.fr"},
		{"   ", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormaliseEmail(tt.in); got != tt.want {
			t.Errorf("NormaliseEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
