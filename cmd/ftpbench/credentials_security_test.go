package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
)

// TestCredentials: the login comes from the URL, else --netrc, else the
// environment, else anonymous; errors name the problem and never a
// password.
func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	const file = "machine ftp.example.org login bench password from-netrc\n" +
		"machine ftp.example.org login other password other-netrc\n" +
		"default login dflt password default-netrc\n"
	if err := os.WriteFile(netrc, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	noDefault := filepath.Join(dir, "nodefault")
	if err := os.WriteFile(noDefault, []byte("machine ftp.example.org login bench password from-netrc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken")
	if err := os.WriteFile(broken, []byte("machine h login u password \"never-closed"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envUser: "env-user", envPassword: "from-env"}
	for _, tc := range []struct {
		name     string
		url      string
		netrc    string
		env      map[string]string
		user, pw string
		err      string
	}{
		{name: "URL wins", url: "ftp://u:from-url@ftp.example.org/f", netrc: netrc, env: env, user: "u", pw: "from-url"},
		{name: "netrc by host", url: "ftp://ftp.example.org/f", netrc: netrc, env: env, user: "bench", pw: "from-netrc"},
		{name: "netrc by host and user", url: "ftp://other@ftp.example.org:2121/f", netrc: netrc, env: env, user: "other", pw: "other-netrc"},
		{name: "netrc default", url: "ftp://elsewhere/f", netrc: netrc, user: "dflt", pw: "default-netrc"},
		{name: "URL with an empty password wins", url: "ftp://u:@ftp.example.org/f", netrc: netrc, user: "u", pw: ""},
		{name: "environment", url: "ftp://ftp.example.org/f", env: env, user: "env-user", pw: "from-env"},
		{name: "environment password for the URL's user", url: "ftp://u@ftp.example.org/f", env: env, user: "u", pw: "from-env"},
		{name: "environment password alone is not a user", url: "ftp://h/f", env: map[string]string{envPassword: "from-env"}, user: "anonymous", pw: anonymousPassword},
		{name: "anonymous", url: "ftp://h/f", user: "anonymous", pw: anonymousPassword},
		{name: "named user, no password", url: "ftp://u@h/f", user: "u", pw: ""},
		{name: "no entry", url: "ftp://elsewhere/f", netrc: noDefault, err: "--netrc " + noDefault + ": no machine elsewhere and no default entry"},
		{name: "no entry for the user", url: "ftp://nobody@ftp.example.org/f", netrc: noDefault, err: "no machine ftp.example.org with login nobody"},
		{name: "missing file", url: "ftp://h/f", netrc: filepath.Join(dir, "missing"), err: "--netrc: open " + filepath.Join(dir, "missing") + ": no such file"},
		{name: "directory", url: "ftp://h/f", netrc: dir, err: "is a directory"},
		{name: "readable by others", url: "ftp://h/f", netrc: open, err: "readable by others (mode -rw-r--r--); chmod 600"},
		{name: "malformed", url: "ftp://h/f", netrc: broken, err: "--netrc " + broken + ": netrc line 1: quoted token with no closing quote"},
		{name: "netrc without a URL", netrc: netrc, err: "--netrc applies only with a URL"},
		{name: "environment without a URL", env: env},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &credentialFlags{netrc: tc.netrc, getenv: func(k string) string { return tc.env[k] }}
			var tg loadgen.Target
			if tc.url != "" {
				var err error
				if tg, err = loadgen.ParseTarget(tc.url); err != nil {
					t.Fatal(err)
				}
			}
			before := tg
			err := c.apply(&tg, tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				for _, pw := range []string{"netrc-", "from-", "never-closed"} {
					if strings.Contains(err.Error(), pw) {
						t.Errorf("error %q shows a password", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.url == "" {
				if tg != before {
					t.Fatalf("no URL: target changed to %+v", tg)
				}
				return
			}
			if tg.User != tc.user || tg.Password != tc.pw {
				t.Errorf("login %q password %q, want %q %q", tg.User, tg.Password, tc.user, tc.pw)
			}
			if tg.Addr != before.Addr || tg.Path != before.Path {
				t.Errorf("target %+v: address or path changed from %+v", tg, before)
			}
		})
	}
}

// TestCredentialFlagHelp: --netrc is registered with a help text naming
// the environment variables, and the help shows no value of them.
func TestCredentialFlagHelp(t *testing.T) {
	t.Setenv(envPassword, "env-secret-value")
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	addCredentialFlags(fs)
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	help := b.String()
	if !strings.Contains(help, "--netrc") || !strings.Contains(help, envUser) || !strings.Contains(help, envPassword) {
		t.Errorf("help %q: want --netrc, %s and %s", help, envUser, envPassword)
	}
	if strings.Contains(help, "env-secret-value") {
		t.Errorf("help %q shows the password", help)
	}
}
