package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// wizard asks for missing settings when apmc runs on a terminal; nil (as
// in tests and scripts) means every setting comes from flags.
var wizard *prompter

// prompter asks questions on a terminal.
type prompter struct {
	in  *bufio.Reader
	out io.Writer
}

// terminalWizard returns a prompter when stdin is a terminal, else nil.
func terminalWizard() *prompter {
	fi, err := os.Stdin.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return &prompter{in: bufio.NewReader(os.Stdin), out: os.Stderr}
}

// ask prints the question and returns the answer, or def when empty.
func (p *prompter) ask(question, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(p.out, "%s [%s]: ", question, def)
	} else {
		fmt.Fprintf(p.out, "%s: ", question)
	}
	line, err := p.in.ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	if line = strings.TrimSpace(line); line == "" {
		return def, nil
	}
	return line, nil
}

// askSecret reads an answer with the terminal's echo off, so a key never
// shows on screen.
func (p *prompter) askSecret(question string) (string, error) {
	if err := stty("-echo"); err != nil {
		return "", errors.New("cannot turn the terminal's echo off; pass the key by flag or environment variable instead")
	}
	fmt.Fprintf(p.out, "%s (not shown): ", question)
	line, err := p.in.ReadString('\n')
	_ = stty("echo")
	fmt.Fprintln(p.out)
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func stty(arg string) error {
	cmd := exec.Command("stty", arg)
	cmd.Stdin = os.Stdin
	return cmd.Run()
}

// fillCreate asks for the settings `instance create` needs that no flag gave.
func (p *prompter) fillCreate(s *settingsFlags) error {
	var err error
	steps := []struct {
		dst      *string
		question string
		def      string
		secret   bool
	}{
		{&s.name, "Instance name", "", false},
		{&s.mailchimpAPIKey, "Mailchimp API key", "", true},
		{&s.accessplanitURL, "accessplanit API v2 URL (https://host/instance/api/v2/)", "", false},
		{&s.accessplanitAPIKey, "accessplanit API key", "", true},
		{&s.direction, "Direction (both, accessplanit_to_mailchimp, mailchimp_to_accessplanit)", "both", false},
		{&s.statusIfNew, "Status of contacts new to Mailchimp (subscribed, pending, unsubscribed, transactional)", "subscribed", false},
		{&s.list, "Mailchimp audience id (empty: the only one)", "", false},
		{&s.defaultCompany, "accessplanit default Account id (empty: the only one)", "", false},
	}
	for _, st := range steps {
		if *st.dst != "" {
			continue
		}
		if st.secret {
			*st.dst, err = p.askSecret(st.question)
		} else {
			*st.dst, err = p.ask(st.question, st.def)
		}
		if err != nil {
			return err
		}
	}
	s.given["direction"] = true
	s.given["status-if-new"] = true
	return nil
}
