package ftptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pyftpdlibScript serves argv[1] on 127.0.0.1:argv[2] with passive ports
// argv[3]..argv[4]: anonymous read access to the root, full access in
// upload/, limits raised for load tests, only warnings logged (logging every
// command costs CPU). The default handler (FTPHandler) replies 125 to a
// transfer on an already open data connection, connects PORT/EPRT data
// connections as soon as the command arrives, and rejects bounces with
// "501 Rejected data connection to foreign address".
const pyftpdlibScript = `import logging, os, sys, warnings
warnings.simplefilter("ignore")
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
import pyftpdlib

root, port, pmin, pmax = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
auth = DummyAuthorizer()
auth.add_anonymous(root, perm="elr")
auth.override_perm("anonymous", os.path.join(root, "upload"), perm="elradfmwMT", recursive=True)

class Handler(FTPHandler):
    pass

Handler.authorizer = auth
Handler.passive_ports = list(range(pmin, pmax + 1))
Handler.permit_foreign_addresses = False
Handler.permit_privileged_ports = False
Handler.timeout = 600
server = FTPServer(("127.0.0.1", port), Handler)
server.max_cons = 4000
server.max_cons_per_ip = 0
sys.stderr.write("pyftpdlib %s serving %s on 127.0.0.1:%d\n" % (pyftpdlib.__ver__, root, port))
sys.stderr.flush()
server.serve_forever(handle_exit=True)
`

// startPyftpdlib runs pyftpdlib (Debian's python3-pyftpdlib under
// /usr/bin/python3) with anonymous login; uploads in upload/.
func startPyftpdlib(t testing.TB, opts Options, port int) (*Server, error) {
	py, err := Available(Pyftpdlib)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(t, opts, false)
	if err != nil {
		return nil, err
	}
	pasv := portRange(opts)
	s := newServer(Pyftpdlib, port, l.Root, "anonymous", "guest", pyftpdlibVersion(py), pasv)
	logPath := filepath.Join(l.Etc, "pyftpdlib.stderr")
	s.logs = []string{logPath}
	script := filepath.Join(l.Etc, "serve.py")
	if err := os.WriteFile(script, []byte(pyftpdlibScript), 0o644); err != nil {
		return nil, err
	}
	argv := []string{py, "-u", script, l.Root, itoa(port), itoa(pasv[0]), itoa(pasv[1])}
	if err := startExternal(s, argv, l.Etc, logPath); err != nil {
		return nil, err
	}
	return s, nil
}

func pyftpdlibVersion(py string) string {
	return cachedVersion(Pyftpdlib, func() string {
		out, err := runBounded(5*time.Second, py, "-c", "import pyftpdlib; print(pyftpdlib.__ver__)")
		if err != nil {
			return ""
		}
		return strings.TrimSpace(out)
	})
}
