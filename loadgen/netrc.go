package loadgen

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Netrc is a parsed netrc file, the format of ftp(1), curl and Python's
// netrc module: whitespace-separated tokens, where "machine NAME" or
// "default" starts an entry and "login NAME", "password SECRET" and
// "account ACCT" fill it in; "macdef NAME" is followed by a macro body
// that ends at the first empty line, and is skipped. A token may be
// quoted ("two words", with \" and \\ escapes, as curl reads them), and a
// token that starts with '#' starts a comment that runs to the end of its
// line. It keeps credentials out of command lines and URLs, which other
// users of a machine can see (ps) and which end up in shell histories.
type Netrc struct {
	entries []NetrcEntry
}

// NetrcEntry is one machine of a netrc file, or its default entry.
type NetrcEntry struct {
	Machine  string // empty for the default entry
	Default  bool   // the "default" entry, for any machine not listed
	Login    string
	Password string
	Account  string
}

// maxNetrc caps the size of a netrc file: a real one is a few hundred
// bytes; the cap keeps a wrong --netrc argument (a device, a huge file)
// from being read without bound.
const maxNetrc = 1 << 20

// errNetrcTooLarge reports a netrc file over maxNetrc bytes.
var errNetrcTooLarge = fmt.Errorf("netrc file larger than %d bytes", maxNetrc)

// ParseNetrc reads a netrc file. Its errors name a line and what was
// wrong there but never quote the file's text, which holds passwords.
func ParseNetrc(r io.Reader) (*Netrc, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxNetrc+1))
	if err != nil {
		return nil, fmt.Errorf("reading netrc: %w", err)
	}
	if len(data) > maxNetrc {
		return nil, errNetrcTooLarge
	}
	lx := &netrcLexer{s: string(data), line: 1}
	n := &Netrc{}
	var cur *NetrcEntry
	for {
		tok, line, ok, err := lx.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return n, nil
		}
		switch tok {
		case "machine", "default":
			e := NetrcEntry{Default: tok == "default"}
			if !e.Default {
				if e.Machine, err = lx.value(tok, line); err != nil {
					return nil, err
				}
			}
			n.entries = append(n.entries, e)
			cur = &n.entries[len(n.entries)-1]
		case "login", "password", "account":
			if cur == nil {
				return nil, fmt.Errorf("netrc line %d: %s before any machine or default", line, tok)
			}
			v, err := lx.value(tok, line)
			if err != nil {
				return nil, err
			}
			switch tok {
			case "login":
				cur.Login = v
			case "password":
				cur.Password = v
			default:
				cur.Account = v
			}
		case "macdef":
			if _, err := lx.value(tok, line); err != nil {
				return nil, err
			}
			lx.skipMacro()
			cur = nil
		default:
			return nil, fmt.Errorf("netrc line %d: unexpected token (want machine, default, login, password, account or macdef)", line)
		}
	}
}

// Lookup returns the entry for host: the first machine entry named host
// (case-insensitively) whose login is login or empty, or else the default
// entry under the same rule; login "" accepts any login.
func (n *Netrc) Lookup(host, login string) (NetrcEntry, bool) {
	fits := func(e NetrcEntry) bool { return login == "" || e.Login == "" || e.Login == login }
	for _, e := range n.entries {
		if !e.Default && strings.EqualFold(e.Machine, host) && fits(e) {
			return e, true
		}
	}
	for _, e := range n.entries {
		if e.Default && fits(e) {
			return e, true
		}
	}
	return NetrcEntry{}, false
}

// netrcLexer splits a netrc file into tokens, counting lines.
type netrcLexer struct {
	s    string
	i    int
	line int
}

// next returns the next token and the line it is on; ok is false at the
// end of the file.
func (lx *netrcLexer) next() (tok string, line int, ok bool, err error) {
	for lx.i < len(lx.s) {
		c := lx.s[lx.i]
		switch {
		case c == '\n':
			lx.line++
			lx.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			lx.i++
		case c == '#':
			for lx.i < len(lx.s) && lx.s[lx.i] != '\n' {
				lx.i++
			}
		case c == '"':
			tok, err := lx.quoted()
			return tok, lx.line, err == nil, err
		default:
			start := lx.i
			for lx.i < len(lx.s) && !strings.ContainsRune(" \t\r\n\f\v", rune(lx.s[lx.i])) {
				lx.i++
			}
			return lx.s[start:lx.i], lx.line, true, nil
		}
	}
	return "", lx.line, false, nil
}

// quoted reads a "quoted token" with \" and \\ (any \x is x).
func (lx *netrcLexer) quoted() (string, error) {
	line := lx.line
	var b strings.Builder
	for lx.i++; lx.i < len(lx.s); lx.i++ {
		switch c := lx.s[lx.i]; c {
		case '"':
			lx.i++
			return b.String(), nil
		case '\\':
			if lx.i+1 < len(lx.s) {
				lx.i++
				b.WriteByte(lx.s[lx.i])
			}
		case '\n':
			lx.line++
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("netrc line %d: quoted token with no closing quote", line)
}

// errNetrcNoValue is wrapped when a keyword ends the file.
var errNetrcNoValue = errors.New("has no value")

// value reads the token that keyword kw (on line) takes.
func (lx *netrcLexer) value(kw string, line int) (string, error) {
	v, _, ok, err := lx.next()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("netrc line %d: %s %w", line, kw, errNetrcNoValue)
	}
	return v, nil
}

// skipMacro skips a macdef body: the rest of the macdef line, then lines
// up to and including the first empty one.
func (lx *netrcLexer) skipMacro() {
	for lx.i < len(lx.s) && lx.s[lx.i] != '\n' {
		lx.i++
	}
	for lx.i < len(lx.s) {
		lx.i++ // the '\n' ending the previous line
		lx.line++
		start := lx.i
		for lx.i < len(lx.s) && lx.s[lx.i] != '\n' {
			lx.i++
		}
		if strings.TrimRight(lx.s[start:lx.i], "\r") == "" {
			return
		}
	}
}
