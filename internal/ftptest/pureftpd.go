package ftptest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// pureFTPdHash is `openssl passwd -6 -salt ftpbenchsalt bench` (SHA-512
// crypt of TestPassword). pure-pw's own argon2id hashes are tuned to cost
// 2-5 s per login here; pure-ftpd accepts crypt(3) hashes as well.
const pureFTPdHash = "$6$ftpbenchsalt$xOKwlyB/R4tjQxC6Tgub5sBlCS5zDFs7V02saW14/sCbIMZQ7jrCvneYlkMr66ocAv3RzU6ITFrKFKTNKEdKF1"

// pureFTPdPw returns the pure-pw next to the given pure-ftpd (usr/sbin →
// usr/bin), or $FTPBENCH_PUREPW, or the one on PATH.
func pureFTPdPw(pureftpd string) (string, error) {
	sibling := filepath.Join(filepath.Dir(filepath.Dir(pureftpd)), "bin", "pure-pw")
	return findBinary("FTPBENCH_PUREPW", "", sibling, "/usr/bin/pure-pw")
}

// startPureFTPd runs pure-ftpd in the foreground with one virtual user
// (TestUser/TestPassword, mapped to the system user ftp, chrooted to Root)
// from a PureDB built in the temp dir; anonymous logins are off (-E).
// Uploads go to upload/ (owned by ftp). Notes: the 220 greeting and the
// 226 reply are multi-line; a wrong password gets 530 only after ~5 s;
// active-mode data connections come from port 20; bounce attempts get
// "500 I won't open a connection to … (only to 127.0.0.1)".
func startPureFTPd(t testing.TB, opts Options, port int) (*Server, error) {
	bin, err := Available(PureFTPd)
	if err != nil {
		return nil, err
	}
	pw, err := pureFTPdPw(bin)
	if err != nil {
		return nil, err
	}
	uid, gid, err := ftpUser()
	if err != nil {
		return nil, err
	}
	l, err := newLayout(t, opts, true)
	if err != nil {
		return nil, err
	}
	pasv := portRange(opts)
	s := newServer(PureFTPd, port, l.Root, TestUser, TestPassword, pureFTPdVersion(bin), pasv)
	logPath := filepath.Join(l.Etc, "pure-ftpd.stderr")
	s.logs = []string{logPath}

	// The line `pure-pw useradd` writes, with our hash; "/./" chroots.
	passwd := filepath.Join(l.Etc, "pureftpd.passwd")
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", TestUser, pureFTPdHash, uid, gid, l.Root)
	if err := os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return nil, err
	}
	pdb := filepath.Join(l.Etc, "pureftpd.pdb")
	if out, err := runBounded(10*time.Second, pw, "mkdb", pdb, "-f", passwd); err != nil {
		return nil, fmt.Errorf("pure-pw mkdb: %v: %s", err, out)
	}
	argv := []string{bin,
		"-l", "puredb:" + pdb,
		"-S", fmt.Sprintf("127.0.0.1,%d", port),
		"-E", // no anonymous logins
		"-4", // IPv4 only
		"-H", // no reverse DNS
		"-A", // chroot everyone
		"-p", fmt.Sprintf("%d:%d", pasv[0], pasv[1]),
		"-c", "2000", // max clients
		"-C", "2000", // max clients per IP
		"-f", "none", // no syslog
	}
	if err := startExternal(s, argv, l.Etc, logPath); err != nil {
		return nil, err
	}
	return s, nil
}

var pureFTPdVersionRE = regexp.MustCompile(`pure-ftpd v([0-9][0-9.]*)`)

func pureFTPdVersion(bin string) string {
	return cachedVersion(PureFTPd, func() string {
		// --help exits non-zero; only the text matters.
		out, _ := runBounded(5*time.Second, bin, "--help")
		if m := pureFTPdVersionRE.FindStringSubmatch(out); m != nil {
			return m[1]
		}
		return ""
	})
}
