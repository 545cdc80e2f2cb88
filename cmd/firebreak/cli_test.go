package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

// flagsOf returns the names and help texts of c's flags.
func flagsOf(c *command) map[string]string {
	fs, _ := c.flagSet()
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		_, help := flag.UnquoteUsage(f)
		out[f.Name] = help
	})
	return out
}

// TestEveryCommandPrintsItsUsageOnHelp: -h, --help and `firebreak help COMMAND`, before or
// after other arguments, print the command's usage with every flag and its meaning on
// stdout and exit 0, touching nothing else (no database is created).
func TestEveryCommandPrintsItsUsageOnHelp(t *testing.T) {
	dir := t.TempDir()
	for _, c := range commands {
		words := strings.Fields(c.path)
		for _, args := range [][]string{
			append(append([]string{}, words...), "-h"),
			append(append([]string{}, words...), "--help"),
			append(append([]string{}, words...), "--config", "nowhere.yaml", "some-arg", "-h"),
			append([]string{"help"}, words...),
		} {
			out, errOut, code := runCLI(t, dir, nil, args...)
			if code != 0 || errOut != "" {
				t.Errorf("firebreak %q: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
			}
			if !strings.HasPrefix(out, "Usage: firebreak "+c.path) || !strings.Contains(out, "-h, --help") {
				t.Errorf("firebreak %q printed %q, want the usage of %s", args, out, c.path)
			}
			for name, help := range flagsOf(c) {
				if !strings.Contains(out, "--"+name) || !strings.Contains(out, help) {
					t.Errorf("firebreak %q: usage lacks --%s or its meaning %q:\n%s", args, name, help, out)
				}
			}
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) > 0 {
		t.Errorf("asking for help created %v", matches)
	}
}

// TestMainUsageListsEveryCommandWithItsFlags: `firebreak help`, -h and --help list every
// command with all of its flags and exit 0; no arguments prints the same on stderr, exit 2.
func TestMainUsageListsEveryCommandWithItsFlags(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {}} {
		out, errOut, code := runCLI(t, t.TempDir(), nil, args...)
		usage, wantCode := out, 0
		if len(args) == 0 {
			usage, wantCode = errOut, 2
		}
		if code != wantCode {
			t.Errorf("firebreak %q: exit %d, want %d", args, code, wantCode)
		}
		for _, c := range commands {
			if !strings.Contains(usage, "firebreak "+c.path) {
				t.Errorf("firebreak %q: usage does not list %s:\n%s", args, c.path, usage)
			}
			for name := range flagsOf(c) {
				if !strings.Contains(usage, "--"+name) {
					t.Errorf("firebreak %q: usage does not show --%s of %s", args, name, c.path)
				}
			}
		}
		for _, want := range []string{"firebreak help [COMMAND]", "FIREBREAK_DATABASE_URL", "Exit status"} {
			if !strings.Contains(usage, want) {
				t.Errorf("firebreak %q: usage lacks %q", args, want)
			}
		}
	}
}

// TestGroupsAndUnknownNamesExplainThemselves: `firebreak token` alone, or with an unknown
// subcommand, lists the token commands on stderr and exits 2; `firebreak token -h` and
// `firebreak help token` list them on stdout, exit 0; an unknown command exits 2.
func TestGroupsAndUnknownNamesExplainThemselves(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args     []string
		code     int
		onStdout bool
		want     string
	}{
		{[]string{"token"}, 2, false, "firebreak token revoke NAME"},
		{[]string{"token", "rotate"}, 2, false, `unknown command "rotate"`},
		{[]string{"token", "-h"}, 0, true, "firebreak token create --name NAME --scopes SCOPES"},
		{[]string{"help", "token"}, 0, true, "firebreak token list"},
		{[]string{"help", "deploy"}, 0, true, "firebreak deploy record --service SERVICE --env ENV --version VERSION"},
		{[]string{"launch"}, 2, false, `unknown command "launch"`},
		{[]string{"help", "launch"}, 2, false, `no command "launch"`},
		{[]string{"--version"}, 0, true, "firebreak dev"},
	} {
		out, errOut, code := runCLI(t, dir, nil, c.args...)
		got, other := errOut, out
		if c.onStdout {
			got, other = out, errOut
		}
		if code != c.code || !strings.Contains(got, c.want) || other != "" {
			t.Errorf("firebreak %q: exit %d, stdout %q, stderr %q; want exit %d and %q on %s only",
				c.args, code, out, errOut, c.code, c.want, map[bool]string{true: "stdout", false: "stderr"}[c.onStdout])
		}
	}
}

// TestCommandLineMistakesExitTwoWithTheUsage: an unknown flag, before or after the
// argument, or a wrong number of arguments exits 2 with the reason and the usage on stderr.
func TestCommandLineMistakesExitTwoWithTheUsage(t *testing.T) {
	dir := t.TempDir()
	for _, c := range commands {
		words := strings.Fields(c.path)
		for _, args := range [][]string{
			append(append([]string{}, words...), "--no-such-flag"),
			append([]string{words[0], "--no-such-flag"}, words[1:]...),
		} {
			if args[1] == "--no-such-flag" && len(words) > 1 {
				continue // "token --no-such-flag create" is a group mistake, tested elsewhere
			}
			out, errOut, code := runCLI(t, dir, nil, args...)
			if code != 2 || out != "" || !strings.Contains(errOut, "flag provided but not defined: -no-such-flag") ||
				!strings.Contains(errOut, "Usage: firebreak "+c.path) {
				t.Errorf("firebreak %q: exit %d, stdout %q, stderr %q; want 2 with the reason and the usage", args, code, out, errOut)
			}
		}
	}
	for _, args := range [][]string{
		{"token", "revoke"},
		{"token", "revoke", "ci", "grafana"},
		{"token", "list", "extra"},
		{"serve", "extra"},
		{"version", "extra"},
	} {
		out, errOut, code := runCLI(t, dir, nil, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "Usage: firebreak "+args[0]) {
			t.Errorf("firebreak %q: exit %d, stdout %q, stderr %q; want 2 with the usage", args, code, out, errOut)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) > 0 {
		t.Errorf("mistaken command lines created %v", matches)
	}
}
