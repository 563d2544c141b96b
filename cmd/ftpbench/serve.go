package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"ftpbench/loadgen"
	"ftpbench/sim"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:2121", "address to listen on; loopback unless you name another address (\":2121\" is loopback too; 0.0.0.0:2121 is every interface)")
	anonymous := fs.Bool("anonymous", true, "accept anonymous logins (user anonymous or ftp, any password)")
	user := fs.String("user", "", "also accept this login, as user:password")
	allowFXP := fs.Bool("allow-fxp", false, "allow PORT/EPRT to third-party addresses (server-to-server transfers)")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of every read and write, and idle limit of a control connection")
	maxSessions := fs.Int("max-sessions", 10000, "concurrent control connections before new ones get 421")
	end := fs.String("end", "close-then-226", "how transfers end, a weighted mix such as 'close-then-226=0.9,226-before-flush=0.1' (see README: Reproducing races)")
	faults := fs.String("faults", "none", "faults per transfer with probabilities, e.g. 'refuse-data=0.05,reset-mid-transfer=0.01,late-listen:50ms=0.1'")
	passivePorts := fs.String("passive-ports", "", "PASV/EPSV port range LO-HI (default: any ephemeral port)")
	seed := fs.Uint64("seed", 1, "seed of the end-behaviour and fault draws")
	if code, done := parseFlags(fs, args, stderr); done {
		return code
	}
	bad := func(err error) int { return usageError(stderr, "serve", err) }
	if fs.NArg() > 0 {
		return bad(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if *timeout <= 0 || *maxSessions < 1 {
		return bad(errors.New("--timeout and --max-sessions must be positive"))
	}
	cfg := sim.ServerConfig{Anonymous: *anonymous, AllowFXP: *allowFXP, Timeout: *timeout, MaxSessions: *maxSessions}
	var err error
	cfg.Race.Seed = *seed
	if cfg.Race.End, err = sim.ParseEndMix(*end); err != nil {
		return bad(fmt.Errorf("--end: %w", err))
	}
	if cfg.Race.Faults, err = sim.ParseFaults(*faults); err != nil {
		return bad(fmt.Errorf("--faults: %w", err))
	}
	if *passivePorts != "" {
		if cfg.Race.PassivePorts, err = sim.ParsePassivePorts(*passivePorts); err != nil {
			return bad(fmt.Errorf("--passive-ports: %w", err))
		}
	}
	if *user != "" {
		name, pass, ok := strings.Cut(*user, ":")
		if !ok || name == "" {
			return bad(errors.New("--user: want name:password"))
		}
		cfg.Users = map[string]string{name: pass}
	}
	if !cfg.Anonymous && cfg.Users == nil {
		return bad(errors.New("nobody could log in: give --user or keep --anonymous"))
	}
	addr, err := listenAddr(*listen)
	if err != nil {
		return bad(fmt.Errorf("--listen %q: %w", *listen, err))
	}
	ln, err := loadgen.TCP{}.Listen(ctx, addr)
	if err != nil {
		return bad(fmt.Errorf("--listen: %w", err))
	}
	fmt.Fprintf(stderr, "ftpbench serve: simulated FTP server on %s (files: /size/N, NAME.bin with sizes like 64KiB.bin; %s)\n", ln.Addr(), cfg.Race)
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		fmt.Fprintf(stderr, "ftpbench serve: warning: %s is reachable from other hosts\n", ln.Addr())
	}
	if err := sim.NewServer(cfg).Serve(ctx, ln); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintf(stderr, "ftpbench serve: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// listenAddr is the address serve listens on for --listen: as given, but
// a missing host (":2121") means loopback, not every interface — serving
// beyond this host takes naming an address, such as 0.0.0.0:2121.
func listenAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
