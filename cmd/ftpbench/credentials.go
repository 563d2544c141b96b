package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
)

// The environment variables that may hold run's login instead of the URL.
const (
	envUser     = "FTPBENCH_USER"
	envPassword = "FTPBENCH_PASSWORD"
)

// anonymousPassword is what an anonymous login sends as its password (by
// custom an e-mail address), as loadgen.ParseTarget does.
const anonymousPassword = "ftpbench@"

// credentialFlags are run's ways to give a login without writing the
// password into the URL, where other users of the machine can read it
// (ps, /proc/PID/cmdline) and shells keep it in their history: --netrc
// FILE and the environment variables FTPBENCH_USER and FTPBENCH_PASSWORD.
type credentialFlags struct {
	netrc  string
	getenv func(string) string
}

// addCredentialFlags registers --netrc on fs.
func addCredentialFlags(fs *pflag.FlagSet) *credentialFlags {
	c := &credentialFlags{getenv: os.Getenv}
	fs.StringVar(&c.netrc, "netrc", "", "take the login for the URL's host from this netrc file (machine/login/password, or default) "+
		"instead of the URL; also "+envUser+" and "+envPassword)
	return c
}

// apply completes t, just parsed from rawURL, with the login from the
// first source that has one, so that the password need not be in the URL:
//
//   - user: the URL's; else the login of the --netrc entry for the host;
//     else $FTPBENCH_USER; else anonymous.
//   - password: the URL's; else the --netrc entry's (the entry for the
//     host and that user, or the default entry); else $FTPBENCH_PASSWORD
//     for a named user; else none, or "ftpbench@" for anonymous.
//
// rawURL "" means no URL (the simulation): then --netrc is an error and
// the environment is ignored. An explicit --netrc that has no entry for
// the host is an error, as is one that others may read.
func (c *credentialFlags) apply(t *loadgen.Target, rawURL string) error {
	if rawURL == "" {
		if c.netrc != "" {
			return errors.New("--netrc applies only with a URL")
		}
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil { // ParseTarget accepted it, so this does not happen
		return errors.New("bad URL")
	}
	user, password, hasPassword := "", "", false
	if u.User != nil {
		user = u.User.Username()
		password, hasPassword = u.User.Password()
	}
	if c.netrc != "" && !hasPassword {
		n, err := readNetrc(c.netrc)
		if err != nil {
			return err
		}
		e, ok := n.Lookup(u.Hostname(), user)
		if !ok {
			who := ""
			if user != "" {
				who = " with login " + user
			}
			return fmt.Errorf("--netrc %s: no machine %s%s and no default entry", c.netrc, u.Hostname(), who)
		}
		if user == "" {
			user = e.Login
		}
		password, hasPassword = e.Password, true
	}
	if user == "" {
		user = c.getenv(envUser)
	}
	switch {
	case user == "":
		t.User, t.Password = "anonymous", anonymousPassword
		return nil
	case !hasPassword:
		password = c.getenv(envPassword)
	}
	t.User, t.Password = user, password
	return nil
}

// readNetrc reads and parses the netrc file at path, refusing one that
// group or others may read: a password there is no longer a secret
// (ftp(1) and Python's netrc refuse such files too).
func readNetrc(path string) (*loadgen.Netrc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--netrc: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("--netrc: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("--netrc %s: is a directory", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("--netrc %s: readable by others (mode %v); chmod 600 %s", path, st.Mode().Perm(), path)
	}
	n, err := loadgen.ParseNetrc(f)
	if err != nil {
		return nil, fmt.Errorf("--netrc %s: %w", path, err)
	}
	return n, nil
}
