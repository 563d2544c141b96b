package ftptest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// startProFTPd runs proftpd 1.3.8 (`proftpd -n -c CONF`, standalone, every
// module it needs built in) with an <Anonymous> root: USER anonymous (or
// ftp), any password. Uploads (STOR, STOU, APPE, MKD, overwrite) are allowed
// in upload/ only. Bounce attempts get "500 Illegal PORT command".
func startProFTPd(t testing.TB, opts Options, port int) (*Server, error) {
	bin, err := Available(ProFTPd)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(t, opts, true)
	if err != nil {
		return nil, err
	}
	pasv := portRange(opts)
	serverType := "standalone"
	if opts.ProFTPdInetd {
		serverType = "inetd"
	}
	s := newServer(ProFTPd, port, l.Root, "anonymous", "guest", proFTPdVersion(bin), pasv)
	logPath := filepath.Join(l.Etc, "proftpd.stderr")
	sysLog := filepath.Join(l.Etc, "proftpd.log")
	s.logs = []string{logPath, sysLog}
	conf := fmt.Sprintf(`# written by ftpbench/internal/ftptest
ServerName "ftptest proftpd"
ServerType %s
Port %d
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
PassivePorts %d %d
AllowForeignAddress off
MaxInstances 4000
User nobody
Group nogroup
Umask 022
UseReverseDNS off
UseLastlog off
WtmpLog off
AuthPAM off
AuthOrder mod_auth_unix.c
DelayEngine off
ControlsEngine off
PidFile %s
ScoreboardFile %s
SystemLog %s
TransferLog NONE
TimeoutIdle 600
TimeoutNoTransfer 600

<Anonymous %s>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
  RequireValidShell off
  MaxClients 4000
  <Limit WRITE>
    DenyAll
  </Limit>
  <Directory %s>
    AllowOverwrite on
    <Limit STOR STOU APPE MKD>
      AllowAll
    </Limit>
  </Directory>
</Anonymous>
`, serverType, port, pasv[0], pasv[1],
		filepath.Join(l.Etc, "proftpd.pid"),
		filepath.Join(l.Etc, "proftpd.scoreboard"),
		sysLog, l.Root, l.Upload)
	confPath := filepath.Join(l.Etc, "proftpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	argv := []string{bin, "-n", "-q", "-c", confPath}
	if opts.ProFTPdInetd {
		err = startInetd(s, argv, l.Etc, logPath)
	} else {
		err = startExternal(s, argv, l.Etc, logPath)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

var proFTPdVersionRE = regexp.MustCompile(`ProFTPD Version ([0-9][0-9a-z.]*)`)

func proFTPdVersion(bin string) string {
	return cachedVersion(ProFTPd, func() string {
		out, _ := runBounded(5*time.Second, bin, "-v")
		if m := proFTPdVersionRE.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	})
}
