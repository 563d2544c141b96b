package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Target is where a run sends its cycles: a server address, a login and the
// file to transfer.
type Target struct {
	Addr     string // host:port of the server-PI
	User     string
	Password string
	// Path is the file to RETR or the name to STOR. "{user}" in it is
	// replaced by the user-PI's number and "{seq}" by the cycle's, so
	// concurrent uploads need not share one file (servers that delete
	// before writing, like goftp, fail such STORs with 450).
	Path string
}

// expandPath fills in the {user} and {seq} placeholders of a Target path.
func expandPath(path string, user int, seq int64) string {
	if !strings.Contains(path, "{") {
		return path
	}
	return strings.NewReplacer("{user}", strconv.Itoa(user), "{seq}", strconv.FormatInt(seq, 10)).Replace(path)
}

// String prints the target as a URL with the password removed, so it can
// be logged and echoed in reports.
func (t Target) String() string {
	u := url.URL{Scheme: "ftp", Host: t.Addr, Path: t.Path}
	if t.User != "" {
		u.User = url.User(t.User)
	}
	return u.String()
}

// ParseTarget parses ftp://[user[:pass]@]host[:port]/path. A missing user
// means anonymous login; a missing port means 21.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		return Target{}, fmt.Errorf("bad URL: %v", redactURLError(err))
	}
	if u.Scheme != "ftp" {
		return Target{}, fmt.Errorf("URL scheme %q: want ftp://host[:port]/path", u.Scheme)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("URL has no host: want ftp://host[:port]/path")
	}
	port := u.Port()
	if port == "" {
		port = "21"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return Target{}, fmt.Errorf("URL port %q not in 1..65535", port)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("URL has a query or fragment; FTP paths take neither")
	}
	t := Target{Addr: net.JoinHostPort(u.Hostname(), port), User: "anonymous", Password: "ftpbench@", Path: u.Path}
	if u.User != nil {
		t.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			t.Password = p
		}
	}
	if t.Path == "" || t.Path == "/" {
		return Target{}, fmt.Errorf("URL has no file path: want ftp://host[:port]/path/to/file")
	}
	return t, nil
}

// redactURLError returns what url.Parse found wrong without the parts of
// the URL it quotes that may belong to the password: *url.Error quotes the
// whole URL, and an EscapeError the bad %-escape, which may be in the
// password.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	var ee url.EscapeError
	if errors.As(err, &ee) {
		return errors.New("invalid %-escape")
	}
	return err
}
