package sim

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
)

// TestbedConfig configures a Testbed.
type TestbedConfig struct {
	Net    Config       // the simulated network
	Server ServerConfig // the server; Network and Clock are set by the testbed
}

// Testbed is a simulated network with two hosts, "client" and "server",
// and a Server listening on server:21: the embedded default target of
// `ftpbench run` and the fixture of tests that need a whole FTP site.
type Testbed struct {
	Network *Network
	Client  *Host   // the user-PI's Network
	Server  *Server // the simulated server-PI
	Addr    string  // the server-PI's address on Network

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartTestbed builds the network, starts the server and returns once it
// is accepting connections.
func StartTestbed(cfg TestbedConfig) (*Testbed, error) {
	n := NewNetwork(cfg.Net)
	client, server := n.Host("client"), n.Host("server")
	ln, err := server.Listen(context.Background(), server.Addr().String()+":21")
	if err != nil {
		return nil, err
	}
	cfg.Server.Network = server
	cfg.Server.Clock = n.Clock()
	ctx, cancel := context.WithCancel(context.Background())
	tb := &Testbed{Network: n, Client: client, Server: NewServer(cfg.Server), Addr: ln.Addr().String(), cancel: cancel}
	tb.wg.Add(1)
	n.Clock().Go(func() {
		defer tb.wg.Done()
		tb.Server.Serve(ctx, ln)
	})
	return tb, nil
}

// Close stops the server and waits for its sessions to end.
func (tb *Testbed) Close() error {
	tb.cancel()
	tb.wg.Wait()
	return nil
}

// UsersPerClientAddr is how many user-PIs ClientAddrs puts on one
// simulated client address. A simulated host, like a real one, holds one
// ephemeral port per control connection to server:21, and a user-PI holds
// at most two ports at once (control and a data connection or user-DTP
// listener; fxp's two control connections): half the ephemeral range,
// 14,116 users with Linux's default range.
func (tb *Testbed) UsersPerClientAddr() int {
	r := tb.Network.cfg.EphemeralPorts
	return max(1, (r[1]-r[0]+1)/2)
}

// ClientAddrs returns the source addresses (loadgen.Config.SourceAddrs)
// for users user-PIs on the testbed's client: the given ones, each made a
// simulated host whose address is local to Client; with none given,
// Client's own address plus hosts "client2", "client3", … up to
// ceil(users / UsersPerClientAddr()) addresses, or nil when one address
// holds all the users.
func (tb *Testbed) ClientAddrs(users int, given []netip.Addr) []netip.Addr {
	n, client := tb.Network, tb.Client
	if len(given) == 0 {
		per := tb.UsersPerClientAddr()
		k := (users + per - 1) / per
		if k <= 1 {
			return nil
		}
		given = append(given, client.Addr())
		for i := 2; i <= k; i++ {
			given = append(given, n.Host(fmt.Sprintf("client%d", i)).Addr())
		}
	}
	for _, a := range given {
		client.AddLocal(n.Host(a.String()))
	}
	return given
}
