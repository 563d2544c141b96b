package loadgen

import (
	"context"
	"fmt"

	"ftpbench/results"
)

// setupDefault prepares a default data port cycle (ModeDefault): no PORT,
// no PASV. RFC 959 §3.2: "The user-process default data port is the same
// as the control connection port (i.e., U)", and the server-DTP connects
// to it from its own default port L-1 when the transfer command arrives.
// §5.2: the user-DTP must already be listening then, so it listens on the
// control connection's local address and port before the command is
// sent; setup_sent is stamped when it listens (at the same instant as
// cmd_sent), data_open when the server's connection is accepted.
//
// Sharing U with the open control connection needs SO_REUSEADDR on both
// sockets (TCP.ReuseAddr, sim.Config.ReuseAddr); without it the cycle
// fails here with EADDRINUSE. The server's answer decides the rest, and
// the record's err says what happened: its reply (servers that don't
// implement the default port say 425), a timeout naming the address
// nobody connected to, or the data connections from foreign addresses
// it turned away.
func (c *cycle) setupDefault() error {
	u := c.u
	local := u.ctrl.LocalAddr().String()
	ln, err := u.cfg.Network.Listen(context.Background(), local)
	if err != nil {
		return fmt.Errorf("user-DTP listen on the control connection's port %s: %w", local, err)
	}
	c.startAccept(ln)
	c.mark(results.SetupSent)
	return nil
}
