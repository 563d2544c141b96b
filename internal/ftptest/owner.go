package ftptest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Port ownership checks: a greeting on the chosen port proves nothing if
// another process (another test's server) grabbed that port first while
// ours is still starting. So readiness also requires that the listening
// socket on 127.0.0.1:port (or *:port) belongs to our server process.

type ownerState int

const (
	ownerUnknown ownerState = iota // cannot tell (no /proc): accept
	ownerNone                      // nobody listens yet
	ownerUs                        // pid holds the listening socket
	ownerOther                     // someone else listens there
)

// listenOwner reports who holds the TCP listening socket on port.
func listenOwner(pid, port int) ownerState {
	inodes, err := listenInodes(port)
	if err != nil {
		return ownerUnknown
	}
	if len(inodes) == 0 {
		return ownerNone
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return ownerUnknown
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
			return ownerUs
		}
	}
	return ownerOther
}

// listenInodes returns the inodes of IPv4 sockets in LISTEN state on
// 127.0.0.1:port or 0.0.0.0:port, from /proc/net/tcp.
func listenInodes(port int) (map[string]bool, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	want := map[string]bool{
		fmt.Sprintf("0100007F:%04X", port): true,
		fmt.Sprintf("00000000:%04X", port): true,
	}
	inodes := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		if first { // header
			first = false
			continue
		}
		fields := strings.Fields(sc.Text())
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		if len(fields) < 10 || fields[3] != "0A" || !want[fields[1]] {
			continue
		}
		inodes[fields[9]] = true
	}
	return inodes, sc.Err()
}

// Ports handed out by FreePort recently: not handed out again within
// portQuarantine, so that two servers of one test binary never race for
// the same port (servers of other processes are caught by listenOwner).
const portQuarantine = 10 * time.Minute

var (
	portsMu    sync.Mutex
	portsGiven = map[int]time.Time{}
)

func claimPort(port int) bool {
	portsMu.Lock()
	defer portsMu.Unlock()
	now := time.Now()
	if t, ok := portsGiven[port]; ok && now.Sub(t) < portQuarantine {
		return false
	}
	portsGiven[port] = now
	return true
}
