// Package ftptest starts real FTP servers on free loopback ports for tests.
//
// Five servers are supported (see Names):
//
//   - "goftp": goftp.io/server/v2 in-process (always available),
//   - "vsftpd", "pure-ftpd", "proftpd", "pyftpdlib": the Debian programs,
//     started as child processes with a config written into a temp dir.
//
// They are installed by .ci/install-servers.sh (vsftpd and python3-pyftpdlib
// with apt-get; pure-ftpd and proftpd unpacked into /opt/ftpbench-servers,
// because the three daemons conflict in dpkg). Where a server or client is
// missing, Start and Require skip the test with a message pointing at that
// script, or fail it when FTPBENCH_REQUIRE_SERVERS=1 (as CI sets).
//
// Binary locations can be overridden with FTPBENCH_VSFTPD, FTPBENCH_PUREFTPD,
// FTPBENCH_PUREPW, FTPBENCH_PROFTPD, FTPBENCH_PYTHON (an interpreter that can
// import pyftpdlib and ftplib) and FTPBENCH_SERVERS_DIR (the unpack dir).
//
// Every server listens on 127.0.0.1 only (goftp's passive data listener
// excepted), serves Root at "/", accepts uploads into "/"+UploadDir, allows
// PASV, EPSV, PORT and EPRT, and is stopped by its own handle in t.Cleanup,
// or earlier by Stop: SIGTERM, then SIGKILL after a bounded wait, to its
// process group and to its session processes that left the group (vsftpd),
// then Wait. Start-up waits for a 220 greeting from a listening socket that
// belongs to the started process (another test's server may have taken the
// port; Start then retries on a new one). If the test binary dies, a
// watchdog process kills the servers and removes their temp dirs. Every
// wait is bounded.
//
// Logins: goftp and pure-ftpd use TestUser/TestPassword; vsftpd, proftpd
// and pyftpdlib are anonymous (User "anonymous", Password "guest"; vsftpd
// does not ask for a password). Content of the files created by Options.Files
// and WriteFile is deterministic (see Content, VerifyContent).
package ftptest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server names accepted by Start.
const (
	Goftp     = "goftp"
	Vsftpd    = "vsftpd"
	PureFTPd  = "pure-ftpd"
	ProFTPd   = "proftpd"
	Pyftpdlib = "pyftpdlib"
)

// RequireEnv is the environment variable that turns "not installed" skips
// into test failures (CI sets it to 1).
const RequireEnv = "FTPBENCH_REQUIRE_SERVERS"

// DefaultPassivePorts is the passive (data) port range the external servers
// use unless Options.PassivePorts is set. It lies below the kernel's
// ephemeral range (32768-60999), from which control ports are taken, and is
// large so that many servers running at once rarely pick the same port (each
// server retries another port when a bind fails anyway).
var DefaultPassivePorts = [2]int{10000, 30000}

const (
	readyTimeout = 10 * time.Second // whole start-up, per attempt
	stopTimeout  = 5 * time.Second  // SIGTERM grace, then SIGKILL
	startTries   = 3                // new port per try when a start fails
)

// Names returns the names of all supported servers.
func Names() []string {
	return []string{Goftp, Vsftpd, PureFTPd, ProFTPd, Pyftpdlib}
}

// Options configure a server started by Start.
type Options struct {
	// Files to create in Root before the server starts: slash-separated
	// path relative to Root → size in bytes. The content is the
	// deterministic stream of Content/NewContentReader for that name.
	Files map[string]int64
	// PassivePorts is an optional inclusive passive port range. Zero
	// means DefaultPassivePorts for the external servers and a
	// kernel-chosen port for goftp (which does not retry a busy port).
	PassivePorts [2]int
	// ProFTPdInetd runs proftpd as "ServerType inetd": the test process
	// accepts each control connection and starts one proftpd for it
	// (what inetd does). The standalone daemon (default) delays the 220
	// greeting of some connections that follow an ended session by
	// ~0.2-0.4 s; inetd mode does not, at the cost of an exec per
	// connection. Ignored by the other servers.
	ProFTPdInetd bool
}

// Server is a running real FTP server on 127.0.0.1.
type Server struct {
	Name     string // one of Names()
	Addr     string // "127.0.0.1:port"
	Host     string // "127.0.0.1"
	Port     int
	User     string // login to use
	Password string
	// Anonymous is true where the login is the server's anonymous user.
	Anonymous bool
	// Root is the directory served as "/". Files created there (Options.Files,
	// WriteFile) are visible at "/" + name.
	Root string
	// UploadDir is the path relative to Root where STOR works ("upload"
	// for every server; goftp and pyftpdlib also accept uploads elsewhere).
	// Uploaded files land in filepath.Join(Root, UploadDir, name).
	UploadDir string
	// Version of the server software, e.g. "3.0.3" (best effort).
	Version string
	// PID of the server process, 0 for the in-process goftp.
	PID int
	// PassivePorts is the passive port range the server was configured
	// with ([0,0] = kernel-chosen).
	PassivePorts [2]int

	proc     *proc // nil for goftp and inetd mode
	stopOnce sync.Once
	stopFn   func() error
	stopErr  error
	logs     []string // files whose tail goes into error messages
	// listenSocks are the inodes of the server's listening sockets,
	// recorded once it greeted: after Stop another process may bind the
	// same port, so "is it gone" asks about these sockets, not the port.
	listenSocks map[string]bool
}

// newServer fills the fields every starter fills alike: name on
// 127.0.0.1:port serving root, login user/password (the anonymous login
// when user is "anonymous"), uploads into "upload".
func newServer(name string, port int, root, user, password, version string, pasv [2]int) *Server {
	return &Server{
		Name:         name,
		Addr:         fmt.Sprintf("127.0.0.1:%d", port),
		Host:         "127.0.0.1",
		Port:         port,
		User:         user,
		Password:     password,
		Anonymous:    user == "anonymous",
		Root:         root,
		UploadDir:    "upload",
		Version:      version,
		PassivePorts: pasv,
	}
}

// recordListener remembers which listening sockets on Port are the
// server's; it is called once the port is known to be ours.
func (s *Server) recordListener() {
	s.listenSocks, _ = listenInodes(s.Port)
}

// stillListening reports whether a listening socket recorded at start is
// still open.
func (s *Server) stillListening() (bool, error) {
	now, err := listenInodes(s.Port)
	if err != nil {
		return false, err
	}
	for ino := range s.listenSocks {
		if now[ino] {
			return true, nil
		}
	}
	return false, nil
}

// URL returns an ftp:// URL for p (a path relative to "/") with the
// server's credentials, as curl and lftp accept it.
func (s *Server) URL(p string) string {
	u := url.URL{Scheme: "ftp", Host: s.Addr, Path: "/" + strings.TrimPrefix(p, "/")}
	if s.Password != "" {
		u.User = url.UserPassword(s.User, s.Password)
	} else {
		u.User = url.User(s.User)
	}
	return u.String()
}

// UploadPath returns the FTP path ("/upload/name") under which a file
// named name can be stored.
func (s *Server) UploadPath(name string) string {
	return path.Join("/", s.UploadDir, name)
}

// Stop stops the server and waits (bounded) for it to exit. It is called
// automatically by t.Cleanup; calling it earlier is allowed and idempotent.
// When Stop returns without error, the server's listening socket is closed.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.stopFn != nil {
			s.stopErr = s.stopFn()
		}
	})
	return s.stopErr
}

// LogTail returns the last bytes of the server's stderr and log files
// (empty for goftp), for error messages.
func (s *Server) LogTail() string {
	return logTails(s.logs)
}

// Start starts the named server for the duration of the test. If the server
// is not installed it skips the test (or fails it under
// FTPBENCH_REQUIRE_SERVERS=1); if it is installed but does not start, the
// test fails with the server's log.
func Start(t testing.TB, name string, opts Options) *Server {
	t.Helper()
	var starter func(testing.TB, Options, int) (*Server, error)
	switch name {
	case Goftp:
		return StartGoftp(t, opts)
	case Vsftpd:
		starter = startVsftpd
	case PureFTPd:
		starter = startPureFTPd
	case ProFTPd:
		starter = startProFTPd
	case Pyftpdlib:
		starter = startPyftpdlib
	default:
		t.Fatalf("ftptest: unknown server %q (known: %v)", name, Names())
		return nil
	}
	Require(t, name)
	var lastErr error
	for try := 1; try <= startTries; try++ {
		port, err := FreePort()
		if err != nil {
			t.Fatalf("ftptest: %s: %v", name, err)
		}
		s, err := starter(t, opts, port)
		if err == nil {
			s.recordListener()
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Errorf("ftptest: stopping %s: %v", name, err)
				}
			})
			return s
		}
		lastErr = err
	}
	t.Fatalf("ftptest: %s did not start (%d tries): %v", name, startTries, lastErr)
	return nil
}

// StartVsftpd starts vsftpd (anonymous login, uploads into "upload").
func StartVsftpd(t testing.TB, opts Options) *Server { t.Helper(); return Start(t, Vsftpd, opts) }

// StartPureFTPd starts pure-ftpd (virtual user, uploads into "upload").
func StartPureFTPd(t testing.TB, opts Options) *Server { t.Helper(); return Start(t, PureFTPd, opts) }

// StartProFTPd starts proftpd (anonymous login, uploads into "upload").
func StartProFTPd(t testing.TB, opts Options) *Server { t.Helper(); return Start(t, ProFTPd, opts) }

// StartPyftpdlib starts pyftpdlib (anonymous login, uploads into "upload").
func StartPyftpdlib(t testing.TB, opts Options) *Server { t.Helper(); return Start(t, Pyftpdlib, opts) }

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago (from
// the kernel's ephemeral range). Start retries with another port if the
// server then fails to bind it.
//
// Within one process a port is not returned twice within 10 minutes.
func FreePort() (int, error) {
	// The listeners of rejected ports stay open until the search ends:
	// the kernel may hand a port just closed straight back.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for i := 0; i < 100; i++ {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if claimPort(port) {
			if err := l.Close(); err != nil {
				return 0, err
			}
			return port, nil
		}
		held = append(held, l)
	}
	return 0, errors.New("finding a free port: 100 tries gave only recently used ports")
}

// Require skips the test (or fails it when FTPBENCH_REQUIRE_SERVERS=1)
// unless what is available. what is a server name (Names) or a client name
// (see ClientAvailable); any other string is treated as unavailable. It
// returns the path of the program (empty for goftp).
func Require(t testing.TB, what string) string {
	t.Helper()
	p, err := Available(what)
	if err != nil {
		Unavailable(t, what, err)
	}
	return p
}

// Unavailable reports that what is missing: t.Fatalf under
// FTPBENCH_REQUIRE_SERVERS=1, t.Skipf otherwise.
func Unavailable(t testing.TB, what string, reason error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s not available (%s=1): %v", what, RequireEnv, reason)
	}
	t.Skipf("%s not installed (set up with .ci/install-servers.sh; set %s=1 to fail instead): %v", what, RequireEnv, reason)
}

// ClientAvailable reports whether the FTP client program name is installed
// and returns its path: "curl", "lftp", or "python3"/"ftplib" (a Python 3
// that can import ftplib; /usr/bin/python3 unless FTPBENCH_PYTHON is set).
func ClientAvailable(name string) (path string, ok bool) {
	switch name {
	case "curl", "lftp", "python3", "ftplib":
	default:
		return "", false
	}
	p, err := Available(name)
	return p, err == nil
}

// Available reports whether a server or client is usable here; the error
// says why not. The result is cached per name.
func Available(name string) (string, error) {
	availMu.Lock()
	defer availMu.Unlock()
	if r, ok := availCache[name]; ok {
		return r.path, r.err
	}
	p, err := lookup(name)
	availCache[name] = availResult{p, err}
	return p, err
}

type availResult struct {
	path string
	err  error
}

var (
	availMu    sync.Mutex
	availCache = map[string]availResult{}
)

// ServersDir is where .ci/install-servers.sh unpacks pure-ftpd and proftpd.
func ServersDir() string {
	if d := os.Getenv("FTPBENCH_SERVERS_DIR"); d != "" {
		return d
	}
	return "/opt/ftpbench-servers"
}

func lookup(name string) (string, error) {
	switch name {
	case Goftp:
		return "", nil
	case Vsftpd:
		p, err := findBinary("FTPBENCH_VSFTPD", "vsftpd", "/usr/sbin/vsftpd")
		if err != nil {
			return "", err
		}
		return p, needRoot(name)
	case PureFTPd:
		p, err := findBinary("FTPBENCH_PUREFTPD", "",
			filepath.Join(ServersDir(), "pure-ftpd/usr/sbin/pure-ftpd"), "/usr/sbin/pure-ftpd")
		if err != nil {
			return "", err
		}
		if _, err := pureFTPdPw(p); err != nil {
			return "", err
		}
		return p, needRoot(name)
	case ProFTPd:
		p, err := findBinary("FTPBENCH_PROFTPD", "",
			filepath.Join(ServersDir(), "proftpd/usr/sbin/proftpd"), "/usr/sbin/proftpd")
		if err != nil {
			return "", err
		}
		return p, needRoot(name)
	case Pyftpdlib:
		py := pythonPath()
		if err := pythonImports(py, "pyftpdlib"); err != nil {
			return "", err
		}
		return py, nil
	case "python3", "ftplib":
		py := pythonPath()
		if err := pythonImports(py, "ftplib"); err != nil {
			return "", err
		}
		return py, nil
	case "curl", "lftp":
		return findBinary("", name, "/usr/bin/"+name)
	}
	return "", fmt.Errorf("unknown server or client %q", name)
}

// findBinary returns the first executable among: $env, the PATH entry for
// name, the given paths.
func findBinary(env, name string, paths ...string) (string, error) {
	if env != "" {
		if p := os.Getenv(env); p != "" {
			if err := isExecutable(p); err != nil {
				return "", fmt.Errorf("%s=%s: %w", env, p, err)
			}
			return p, nil
		}
	}
	if name != "" {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range paths {
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s found", strings.Join(append(nonEmpty(name), paths...), ", "))
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s + " (in PATH)"}
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

func needRoot(name string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root here (it chroots and switches to the ftp user)", name)
	}
	return nil
}

func pythonPath() string {
	if p := os.Getenv("FTPBENCH_PYTHON"); p != "" {
		return p
	}
	// Not the python3 on PATH: another one (pyenv, venv) may lack the
	// Debian python3-pyftpdlib module.
	return "/usr/bin/python3"
}

func pythonImports(py, module string) error {
	if err := isExecutable(py); err != nil {
		return fmt.Errorf("%s: %w", py, err)
	}
	out, err := runBounded(30*time.Second, py, "-c", "import "+module) // python starts slowly on a loaded machine
	if err != nil {
		return fmt.Errorf("%s cannot import %s: %v: %s", py, module, err, strings.TrimSpace(out))
	}
	return nil
}

// runBounded runs a short helper command (not a server) with a time limit.
func runBounded(limit time.Duration, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var buf lockedBuffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-done
		return buf.String(), fmt.Errorf("%s timed out after %v", name, limit)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// versions caches the version string of each server.
var (
	versionMu sync.Mutex
	versions  = map[string]string{}
)

func cachedVersion(name string, get func() string) string {
	versionMu.Lock()
	defer versionMu.Unlock()
	if v, ok := versions[name]; ok {
		return v
	}
	v := get()
	versions[name] = v
	return v
}

// layout creates the common directory layout of a server instance:
// base (0711, removed in t.Cleanup) holding root/ (0755, served), root/upload/
// (owned by ftp:ftp where chownUpload, mode 0755) and etc/ for config and
// logs. Files from opts are written into root.
type layout struct {
	Base, Root, Upload, Etc string
}

func newLayout(t testing.TB, opts Options, chownUpload bool) (*layout, error) {
	// Not t.TempDir: its parent directories are mode 0700, and proftpd
	// resolves its <Anonymous> directory as the ftp user. base is 0711:
	// traversable, not listable.
	base, err := os.MkdirTemp("", "ftptest-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			t.Errorf("ftptest: removing %s: %v", base, err)
		}
	})
	if err := os.Chmod(base, 0o711); err != nil {
		return nil, err
	}
	l := &layout{
		Base:   base,
		Root:   filepath.Join(base, "root"),
		Upload: filepath.Join(base, "root", "upload"),
		Etc:    filepath.Join(base, "etc"),
	}
	for _, d := range []string{l.Root, l.Upload, l.Etc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, err
		}
		// Independent of the test process's umask.
		if err := os.Chmod(d, 0o755); err != nil {
			return nil, err
		}
	}
	if chownUpload {
		uid, gid, err := ftpUser()
		if err != nil {
			return nil, err
		}
		if err := os.Chown(l.Upload, uid, gid); err != nil {
			return nil, fmt.Errorf("chown %s to ftp: %w", l.Upload, err)
		}
	}
	names := make([]string, 0, len(opts.Files))
	for n := range opts.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := writeFile(l.Root, n, opts.Files[n]); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func portRange(opts Options) [2]int {
	if opts.PassivePorts != ([2]int{}) {
		return opts.PassivePorts
	}
	return DefaultPassivePorts
}

func itoa(i int) string { return strconv.Itoa(i) }
