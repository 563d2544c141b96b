package sim

import (
	"context"
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
