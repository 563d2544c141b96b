package ftptest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// startVsftpd runs vsftpd in the foreground (listen=YES, background=NO) with
// anonymous login (no password asked: USER anonymous gets 230 at once) on
// 127.0.0.1:port. Root is anon_root (owned by root, not writable by ftp, as
// vsftpd demands); uploads go to upload/ (owned by ftp, anon_umask 022 so
// they can be read back, overwrite allowed). PORT/EPRT data connections are
// made from an ephemeral port (connect_from_port_20=NO), after RETR/STOR.
// Bounce attempts get "500 Illegal PORT command.".
func startVsftpd(t testing.TB, opts Options, port int) (*Server, error) {
	bin, err := Available(Vsftpd)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(t, opts, true)
	if err != nil {
		return nil, err
	}
	empty := filepath.Join(l.Etc, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		return nil, err
	}
	pasv := portRange(opts)
	s := newServer(Vsftpd, port, l.Root, "anonymous", "guest", vsftpdVersion(bin), pasv)
	logPath := filepath.Join(l.Etc, "vsftpd.stderr")
	s.logs = []string{logPath}
	conf := fmt.Sprintf(`# written by ftpbench/internal/ftptest
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=%d
background=NO
run_as_launching_user=NO
ftp_username=ftp
local_enable=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=%s
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
pasv_enable=YES
pasv_min_port=%d
pasv_max_port=%d
pasv_promiscuous=NO
port_enable=YES
port_promiscuous=NO
connect_from_port_20=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=%s
max_clients=0
max_per_ip=0
xferlog_enable=NO
dirmessage_enable=NO
session_support=NO
tcp_wrappers=NO
use_sendfile=YES
idle_session_timeout=300
data_connection_timeout=300
accept_timeout=60
connect_timeout=60
`, port, l.Root, pasv[0], pasv[1], empty)
	confPath := filepath.Join(l.Etc, "vsftpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := startExternal(s, []string{bin, confPath}, l.Etc, logPath); err != nil {
		return nil, err
	}
	return s, nil
}

var vsftpdVersionRE = regexp.MustCompile(`vsftpd: version ([0-9][0-9.]*)`)

// vsftpdVersion reads the version from the binary: `vsftpd -v` writes it to
// its standard input (sic).
func vsftpdVersion(bin string) string {
	return cachedVersion(Vsftpd, func() string {
		data, err := os.ReadFile(bin)
		if err != nil {
			return ""
		}
		if m := vsftpdVersionRE.FindSubmatch(data); m != nil {
			return string(bytes.TrimRight(m[1], "."))
		}
		return ""
	})
}
