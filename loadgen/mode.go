package loadgen

import (
	"fmt"
	"strings"
)

// Mode is how a cycle sets up its data connection.
type Mode string

// The data-connection set-up modes of RFC 959 and RFC 2428.
const (
	ModePASV Mode = "pasv" // PASV, 227, the user-DTP connects
	ModePORT Mode = "port" // user-DTP listens, PORT, the server-DTP connects
	ModeEPSV Mode = "epsv" // EPSV, 229, the user-DTP connects
	ModeEPRT Mode = "eprt" // user-DTP listens, EPRT, the server-DTP connects
	// ModeDefault sends no set-up command: the user-DTP listens on the
	// control connection's own address and port U, the default data port
	// of RFC 959 §3.2, and the server-DTP connects there (from port L-1).
	ModeDefault Mode = "default"
	// ModeFXP is a server-to-server transfer (RFC 959 §5.2 Figure 3)
	// between Config.Target and Config.FXPTarget; see runFXP.
	ModeFXP Mode = "fxp"
)

var allModes = []Mode{ModePASV, ModePORT, ModeEPSV, ModeEPRT, ModeDefault, ModeFXP}

// Passive reports whether the user-DTP dials (rather than listens) in m.
func (m Mode) Passive() bool { return m == ModePASV || m == ModeEPSV }

// ParseModes parses a comma-separated list such as "pasv,port".
func ParseModes(s string) ([]Mode, error) {
	var modes []Mode
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		m := Mode(f)
		known := false
		for _, k := range allModes {
			known = known || k == m
		}
		if !known {
			return nil, fmt.Errorf("unknown mode %q (want pasv, port, epsv, eprt, default or fxp)", f)
		}
		modes = append(modes, m)
	}
	return modes, nil
}

// Op is the transfer a cycle performs.
type Op string

// The transfer operations.
const (
	OpRETR Op = "retr" // download: read the data connection to EOF
	OpSTOR Op = "stor" // upload: write a synthetic payload, then half-close
)

// ParseOp parses "retr" or "stor".
func ParseOp(s string) (Op, error) {
	switch op := Op(strings.ToLower(s)); op {
	case OpRETR, OpSTOR:
		return op, nil
	}
	return "", fmt.Errorf("unknown op %q (want retr or stor)", s)
}
