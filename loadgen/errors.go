package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"syscall"

	"ftpbench/internal/ftpaddr"
	"ftpbench/results"
)

// ReplyError is a reply the user-PI did not expect, such as 425 or 550.
type ReplyError struct {
	Cmd  string // the command it answered, arguments included (never PASS's)
	Code int
	Text string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("%s: %d %s", e.Cmd, e.Code, e.Text)
}

// ErrTruncated reports a transfer that ended with fewer bytes than expected.
var ErrTruncated = errors.New("transfer truncated")

// ErrDesync reports a reply that answers an earlier command than the one the
// user-PI sent last, such as a stale 226 read as the answer to PASV.
var ErrDesync = errors.New("reply out of step with commands")

// ErrReplyTooLong reports a reply longer than the user-PI accepts.
var ErrReplyTooLong = errors.New("reply too long")

// ErrNoLocalPort reports a user-DTP that could not listen for want of a
// free ephemeral port (bind to port 0 fails with EADDRINUSE then).
var ErrNoLocalPort = errors.New("no free local port")

// localExhaustion reports whether err is this host running out of
// descriptors, buffers or ports: no server was involved, and retrying at
// once cannot help.
func localExhaustion(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.EADDRNOTAVAIL, ErrNoLocalPort} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// classify maps the error that ended a cycle to its outcome.
func classify(ctx context.Context, err error) results.Outcome {
	if err == nil {
		return results.OK // before the errors.As targets below, which escape
	}
	var re *ReplyError
	var pe textproto.ProtocolError
	var ne net.Error
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return results.Canceled
	case errors.Is(err, ErrTruncated):
		return results.Truncated
	case errors.Is(err, ErrDesync):
		return results.Desync
	case errors.As(err, &re):
		if re.Code == 425 {
			return results.Refused
		}
		return results.ReplyError
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, ErrNoLocalPort):
		// No local port (or a source address that is not local): the
		// connection was never tried. The simulation gives the same
		// error when a host's ephemeral range is used up.
		return results.AddrUnavailable
	case errors.Is(err, syscall.ECONNREFUSED), localExhaustion(err):
		// Refused by the server, or the connection could not even be
		// tried for want of local descriptors or buffers.
		return results.Refused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return results.Timeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return results.Reset
	case errors.As(err, &pe), errors.Is(err, ftpaddr.ErrSyntax), errors.Is(err, ErrReplyTooLong):
		return results.ProtocolError
	}
	return results.ProtocolError
}
