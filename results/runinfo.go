package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunInfo describes how a results file was produced. It lives beside the
// file as a sidecar (MetaPath) rather than in it, so the JSON Lines record
// format stays one kind of line that any tool can stream.
type RunInfo struct {
	// Command is the command line, with every URL password replaced by
	// "xxxxx" (RedactCommand): the sidecar is shared with reports.
	Command []string `json:"command"`
	// Target is the server the run drove (a URL without password), or
	// "simulation".
	Target string `json:"target"`
	// Start is the start of the run's first cycle and End the moment the
	// run finished, both in UTC.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// EndReason says why the run stopped: "completed", "interrupted",
	// "no cycle succeeded", "write error: …".
	EndReason string `json:"end_reason"`
	// Stages are the boundaries of the run's stages (--stages), which
	// the time charts draw as vertical lines.
	Stages []StageMark `json:"stages,omitempty"`
}

// StageMark is the start of one stage of a run: when, and what it ramps
// to ("→ 500 users", "→ 2000/s").
type StageMark struct {
	At    time.Time `json:"at"`
	Label string    `json:"label"`
}

// MetaPath returns the sidecar path of the results file at path:
// "<path>.meta.json".
func MetaPath(path string) string { return path + ".meta.json" }

// WriteRunInfo writes info as indented JSON to MetaPath(resultsPath)
// atomically: it writes a temporary file in the same directory and renames
// it over the sidecar, so a reader sees the old sidecar or the new one,
// never half of one.
func WriteRunInfo(resultsPath string, info *RunInfo) error {
	return writeFileAtomic(MetaPath(resultsPath), func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // thresholds such as p99(setup)<5ms stay readable
		return enc.Encode(info)
	})
}

// ReadRunInfo reads the sidecar of the results file at path. It returns
// (nil, nil) when there is none: results files from other tools, or copied
// without their sidecar, are still valid input.
func ReadRunInfo(path string) (*RunInfo, error) {
	b, err := os.ReadFile(MetaPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err // *PathError names the file
	}
	var info RunInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", MetaPath(path), err)
	}
	return &info, nil
}

// writeFileAtomic creates path through a temporary file in its directory
// that write fills; the file replaces path only once write, Sync and Close
// have all succeeded, and is removed otherwise.
func writeFileAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// RedactCommand returns a copy of args in which the password of every URL
// with one — a whole argument or the value of --flag=URL — is replaced by
// "xxxxx", as url.URL.Redacted does. Arguments that are not URLs are kept.
func RedactCommand(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		prefix, value := "", a
		if strings.HasPrefix(a, "-") {
			if k, v, ok := strings.Cut(a, "="); ok {
				prefix, value = k+"=", v
			}
		}
		out[i] = prefix + redactURL(value)
	}
	return out
}

// redactURL hides the password of s when s is a URL with one. A string
// that only looks like a URL (scheme://user:pass@…) but does not parse has
// its userinfo's password hidden by hand: an unparsable URL is exactly the
// kind a user mistypes, and the command line is still recorded.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err == nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
		return s
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, path, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(authority[:at], ":")
	if !hasPass {
		return s
	}
	redacted := scheme + "://" + user + ":xxxxx" + authority[at:]
	if len(rest) > len(authority) {
		redacted += "/" + path
	}
	return redacted
}
