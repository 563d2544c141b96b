package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ftpbench/internal/ftptest"
)

// The load of the rehearsal, put into the manifests' ConfigMap in place of
// its production values: RATE cycles/s in all, CYCLES cycles (CYCLES/RATE
// seconds per run), USERS control connections over all shards. In the open
// model the schedule of cycle starts is the load's own, whatever the
// machine does, so the merged shards and the single process can be held to
// the same rate; MAX_INFLIGHT = CYCLES lets a cycle that finds every
// user-PI busy (a busy machine) wait instead of being dropped, so every
// cycle is ok and the counts compare exactly.
const (
	rehearsalRate   = 200
	rehearsalCycles = 1200
	rehearsalUsers  = 32
	// offeredTolerance bounds |offered/RATE − 1|, where offered is the rate
	// of the cycles' intended starts (the schedule, whatever the machine
	// does): for the merged shards and the single process alike.
	offeredTolerance = 0.02
	// rateTolerance bounds |cycles/s / RATE − 1|, the rate achieved, for
	// both — held only where the load generator kept to its schedule
	// (keptUp), since on a machine too busy to, cycles/s measures the
	// machine.
	rateTolerance = 0.15
	// keptUp is the median lag of cycle starts behind schedule (the
	// summary's wait) up to which a run counts as on schedule: ten
	// intervals of RATE.
	keptUp = 10 * time.Second / rehearsalRate
	// startDelay is how far ahead START_AT is set: time for the shard
	// processes to start, even on a loaded machine.
	startDelay = 5 * time.Second
)

// TestRehearsal runs the manifests' command lines as Kubernetes would run
// them, with processes on loopback instead of pods: the Indexed Job's
// container once per completion index (JOB_COMPLETION_INDEX set, its args
// expanded from the ConfigMap, the results volume a temp dir), the merge
// Job's three containers in turn (the busybox waiter under the local sh),
// and then one process running the same total load with --segment
// dropped. The merge must account for every cycle — counts exact, seq
// 0..n−1, each shard's records there — and equal the single process in
// everything but timing, and in rate: the offered rate (of the intended
// starts) within offeredTolerance, the cycles/s achieved within
// rateTolerance.
func TestRehearsal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs shard processes against servers: skipped in -short mode")
	}
	bin := ftpbenchBinary(t)
	m := loadManifests(t)
	// The CLI reads FTPBENCH_USER/FTPBENCH_PASSWORD (the manifests' Secret)
	// along with --netrc; before that, the simulated server must be
	// anonymous.
	envLogin := flagsOf(t, bin, "run").takesValue["netrc"]

	t.Run("sim", func(t *testing.T) {
		secrets := map[string]map[string]string(nil)
		serveArgs := []string{"serve", "--listen", "127.0.0.1:0"}
		if envLogin {
			pw := "pw-" + rand.Text()
			secrets = secretsFor(m, "bench", pw)
			serveArgs = append(serveArgs, "--anonymous=false", "--user", "bench:"+pw)
		} else {
			t.Log("ftpbench run has no --netrc yet, so no FTPBENCH_USER/FTPBENCH_PASSWORD: logging in anonymously")
		}
		addr := startServe(t, bin, serveArgs...)
		rehearse(t, bin, m, "ftp://"+addr+"/64KiB.bin", secrets, 65536)
	})
	t.Run("vsftpd", func(t *testing.T) {
		srv := ftptest.StartVsftpd(t, ftptest.Options{Files: map[string]int64{"file.bin": 65536}})
		// vsftpd's login is anonymous: the URL names no user and the
		// Secret does not exist (its keys are optional).
		rehearse(t, bin, m, "ftp://"+srv.Addr+"/file.bin", nil, 65536)
	})
}

// secretsFor returns the one Secret the shard Job's env refers to, holding
// user and password under the keys it reads them from.
func secretsFor(m *manifests, user, password string) map[string]map[string]string {
	secrets := map[string]map[string]string{}
	for _, e := range m.shards.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if secrets[ref.Name] == nil {
			secrets[ref.Name] = map[string]string{}
		}
		switch e.Name {
		case "FTPBENCH_USER":
			secrets[ref.Name][ref.Key] = user
		case "FTPBENCH_PASSWORD":
			secrets[ref.Name][ref.Key] = password
		}
	}
	return secrets
}

// startServe runs `ftpbench serve` until the test ends and returns the
// address it listens on.
func startServe(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second // then SIGKILL
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stderr).ReadString('\n')
	go io.Copy(io.Discard, stderr)
	addr := regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(line)
	if err != nil || addr == "" {
		t.Fatalf("ftpbench serve printed %q (%v)", line, err)
	}
	return addr
}

// proc is a finished process of the rehearsal.
type proc struct {
	argv           []string
	code           int
	stdout, stderr string
}

// runProc runs argv with exactly the environment env (as a container has
// no other) plus HOME, bounded by ctx.
func runProc(ctx context.Context, argv []string, env map[string]string, home string) proc {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second // a killed sh's sleep may hold its output open
	cmd.Env = []string{"HOME=" + home}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	p := proc{argv: argv, code: -1, stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState != nil {
		p.code = cmd.ProcessState.ExitCode()
	}
	if err != nil && p.code == 0 {
		p.code = -1
	}
	if err != nil {
		p.stderr += "\n" + err.Error()
	}
	return p
}

func (p proc) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(p.argv, " "), p.code, p.stdout, p.stderr)
}

// record is the part of a results record the rehearsal checks.
type record struct {
	Seq     int64     `json:"seq"`
	Segment string    `json:"segment"`
	Mode    string    `json:"mode"`
	Start   time.Time `json:"start"`
	// Intended is when the open model's schedule had the cycle start.
	Intended time.Time        `json:"intended"`
	T        map[string]int64 `json:"t"`
	Bytes    int64            `json:"bytes"`
	Outcome  string           `json:"outcome"`
	Err      string           `json:"err"`
}

func readRecords(t *testing.T, path string) []record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []record
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// summary is the part of `ftpbench report --format json` compared.
type summary struct {
	Modes []modeStats `json:"modes"`
	All   modeStats   `json:"all"`
}

type modeStats struct {
	Mode         string           `json:"mode"`
	Cycles       int64            `json:"cycles"`
	OK           int64            `json:"ok"`
	Outcomes     map[string]int64 `json:"outcomes"`
	Bytes        int64            `json:"bytes"`
	CyclesPerSec float64          `json:"cycles_per_sec"`
	Wait         struct {
		P50 time.Duration `json:"p50"`
	} `json:"wait_ns"`
}

// counts is a summary without its timing: what the merged run and the
// single process must agree on exactly.
func (s summary) counts() string {
	var b strings.Builder
	for _, m := range append(slices.Clone(s.Modes), s.All) {
		fmt.Fprintf(&b, "%s: %d cycles, %d ok, %d bytes, outcomes %v\n", m.Mode, m.Cycles, m.OK, m.Bytes, m.Outcomes)
	}
	return b.String()
}

// report runs `ftpbench report --format json FILES` and returns its output.
func report(t *testing.T, bin string, files ...string) (raw string, s summary) {
	t.Helper()
	p := runProc(t.Context(), append([]string{bin, "report", "--format", "json"}, files...), nil, t.TempDir())
	if p.code != 0 {
		t.Fatalf("%v", p)
	}
	if err := json.Unmarshal([]byte(p.stdout), &s); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, p.stdout)
	}
	return p.stdout, s
}

// rehearse runs the manifests against target and checks the outcome.
// secrets stand for the cluster's Secrets (nil: none exists).
func rehearse(t *testing.T, bin string, m *manifests, target string, secrets map[string]map[string]string, fileSize int64) {
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	var background sync.WaitGroup
	defer background.Wait() // after cancel: a failure stops the waiter too
	defer cancel()
	dir, home := t.TempDir(), t.TempDir()
	shardC := m.shards.Spec.Template.Spec.Containers[0]
	configMaps := maps.Clone(m.configMaps)
	cmName := configMapNames(m.shards)[0]
	config := maps.Clone(configMaps[cmName])
	shards, err := strconv.Atoi(config["SHARDS"])
	if err != nil {
		t.Fatal(err)
	}
	startAt := time.Now().Add(startDelay).UTC()
	for k, v := range map[string]string{
		"RUN": "rehearsal", "TARGET_URL": target, "START_AT": startAt.Format(time.RFC3339Nano),
		"RATE": strconv.Itoa(rehearsalRate), "CYCLES": strconv.Itoa(rehearsalCycles), "USERS": strconv.Itoa(rehearsalUsers),
		"MAX_INFLIGHT": strconv.Itoa(rehearsalCycles), "DURATION": "0s",
	} {
		if _, ok := config[k]; !ok {
			t.Fatalf("ConfigMap %s has no %s to set", cmName, k)
		}
		config[k] = v
	}
	configMaps[cmName] = config

	// The shards' command lines, one per completion index.
	runFlags := flagsOf(t, bin, "run")
	shardArgv := make([][]string, shards)
	shardEnv := make([]map[string]string, shards)
	outs := make([]string, shards)
	for i := range shards {
		shardEnv[i] = env(t, shardC, configMaps, secrets, strconv.Itoa(i))
		shardArgv[i] = commandLine(t, shardC, shardEnv[i], dir)
		values, _, err := runFlags.parseArgs(shardArgv[i][1:])
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = values["out"]
	}

	// The merge Job's waiter starts with the shards, as it would in the
	// cluster, and must not finish before every shard has written its
	// sidecar, the last thing a run writes.
	var waiterDone chan proc
	var waiterSawMissing []int
	ms := m.merge.Spec.Template.Spec
	var ftpbenchCs []container
	for _, c := range append(slices.Clone(ms.InitContainers), ms.Containers...) {
		if c.Image == shardC.Image {
			ftpbenchCs = append(ftpbenchCs, c)
			continue
		}
		vars := env(t, c, configMaps, secrets, "")
		argv := commandLine(t, c, vars, dir)
		sh, err := exec.LookPath(argv[0])
		if err != nil {
			t.Logf("not running container %s: %v", c.Name, err)
			continue
		}
		argv[0] = sh
		vars["PATH"] = os.Getenv("PATH")
		waiterDone = make(chan proc, 1)
		background.Go(func() {
			p := runProc(ctx, argv, vars, home)
			for i, out := range outs {
				if _, err := os.Stat(out + ".meta.json"); err != nil {
					waiterSawMissing = append(waiterSawMissing, i)
				}
			}
			waiterDone <- p
		})
	}

	// The shards, all at once.
	shardProcs := make([]proc, shards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() { shardProcs[i] = runProc(ctx, append([]string{bin}, shardArgv[i]...), shardEnv[i], home) })
	}
	wg.Wait()
	for _, p := range shardProcs {
		if p.code != 0 {
			t.Fatalf("shard %v", p)
		}
	}
	if waiterDone != nil {
		p := <-waiterDone
		if p.code != 0 || len(waiterSawMissing) > 0 {
			t.Fatalf("waiter finished while shards %v were missing: %v", waiterSawMissing, p)
		}
		t.Logf("waiter: %s", strings.TrimSpace(p.stdout))
	}

	// Each shard: its share of the cycles, numbered i, i+N, …, stamped
	// with its segment, started no earlier than START_AT, all ok.
	var firstStarts []time.Time
	for i, out := range outs {
		recs := readRecords(t, out)
		share := rehearsalCycles / shards
		if i < rehearsalCycles%shards {
			share++
		}
		if len(recs) != share {
			t.Errorf("shard %d: %d records, want %d", i, len(recs), share)
		}
		seqs := make([]int64, 0, len(recs))
		first, bad := recs[0].Start, 0
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
			if r.Segment != fmt.Sprintf("%d/%d", i, shards) || r.Outcome != "ok" || r.Bytes != fileSize {
				if bad++; bad == 1 {
					t.Errorf("shard %d: record %+v: want segment %d/%d, ok, %d bytes", i, r, i, shards, fileSize)
				}
			}
			if r.Start.Before(first) {
				first = r.Start
			}
		}
		if bad > 1 {
			t.Errorf("shard %d: %d such records", i, bad)
		}
		slices.Sort(seqs)
		for k, s := range seqs {
			if s != int64(i+k*shards) {
				t.Errorf("shard %d: seqs %v…, want %d, %d, %d, …", i, seqs[:min(len(seqs), 8)], i, i+shards, i+2*shards)
				break
			}
		}
		if first.Before(startAt) {
			t.Errorf("shard %d started its first cycle at %v, before --start-at %v", i, first, startAt)
		}
		firstStarts = append(firstStarts, first)
	}
	spread := slices.MaxFunc(firstStarts, time.Time.Compare).Sub(slices.MinFunc(firstStarts, time.Time.Compare))
	t.Logf("shards' first cycles within %v of each other, %v after START_AT", spread.Round(time.Millisecond),
		slices.MinFunc(firstStarts, time.Time.Compare).Sub(startAt).Round(time.Millisecond))

	// The merge Job's ftpbench containers, in order: merge, report --html.
	var merged, html, mergeSummary string
	for _, c := range ftpbenchCs {
		vars := env(t, c, configMaps, secrets, "")
		argv := commandLine(t, c, vars, dir)
		p := runProc(ctx, append([]string{bin}, argv...), vars, home)
		if p.code != 0 {
			t.Fatalf("merge Job, container %s: %v", c.Name, p)
		}
		values, pos, _ := flagsOf(t, bin, argv[0]).parseArgs(argv[1:])
		switch argv[0] {
		case "merge":
			merged, mergeSummary = values["out"], p.stdout
			if !strings.Contains(p.stderr, fmt.Sprintf("%d records from %d files", rehearsalCycles, shards)) {
				t.Errorf("merge: %v", p)
			}
		case "report":
			html = values["html"]
			if len(pos) != 1 || pos[0] != merged {
				t.Errorf("report reads %v, not the merged file %s", pos, merged)
			}
		}
	}
	if merged == "" || html == "" {
		t.Fatal("the merge Job ran no merge or no report --html")
	}
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(bytes.ToLower(b), []byte("<html")) {
		t.Errorf("report --html wrote no HTML to %s (%v)", html, err)
	}

	// The merged file: seq 0..n−1, and otherwise each shard's records,
	// every one, in the shard's order (merge interleaves its inputs by end
	// time, stably).
	recs := readRecords(t, merged)
	perSegment := map[string][]record{}
	for k, r := range recs {
		if r.Seq != int64(k) {
			t.Fatalf("merged record %d has seq %d", k, r.Seq)
		}
		perSegment[r.Segment] = append(perSegment[r.Segment], r)
	}
	for i := range shards {
		got, want := perSegment[fmt.Sprintf("%d/%d", i, shards)], readRecords(t, outs[i])
		if len(got) != len(want) {
			t.Errorf("merged file has %d records of segment %d/%d, the shard wrote %d", len(got), i, shards, len(want))
			continue
		}
		for k := range got {
			g, w := got[k], want[k]
			g.Seq, w.Seq = 0, 0
			if !reflect.DeepEqual(g, w) {
				t.Errorf("segment %d/%d: merged record %+v, the shard's record %d is %+v", i, shards, got[k], k, want[k])
				break
			}
		}
	}
	if len(recs) != rehearsalCycles || len(perSegment) != shards {
		t.Errorf("merged file: %d records of %d segments, want %d of %d", len(recs), len(perSegment), rehearsalCycles, shards)
	}

	// The summary merge printed — the shards' summaries merged, HDR
	// histograms added bucket by bucket — is exactly that of the merged
	// file, which is exactly that of the shard files together.
	p := runProc(ctx, []string{bin, "report", merged}, nil, home)
	if p.code != 0 || p.stdout != mergeSummary {
		t.Errorf("merge printed:\n%s\nreport of the merged file: %v", mergeSummary, p)
	}
	mergedRaw, mergedSum := report(t, bin, merged)
	if shardsRaw, _ := report(t, bin, outs...); shardsRaw != mergedRaw {
		t.Errorf("summary of the merged file differs from that of the shard files:\n%s\nvs\n%s", mergedRaw, shardsRaw)
	}

	// One process, the same total load: the shard container's command line
	// without --segment, its START_AT left in the past.
	single := maps.Clone(config)
	single["RUN"], single["START_AT"] = "single", m.configMaps[cmName]["START_AT"]
	configMaps[cmName] = single
	vars := env(t, shardC, configMaps, secrets, "0")
	argv := commandLine(t, shardC, vars, dir)
	i := slices.IndexFunc(argv, func(a string) bool { return a == "--segment" || strings.HasPrefix(a, "--segment=") })
	if i < 0 {
		t.Fatalf("no --segment in %v", argv)
	}
	if argv[i] == "--segment" {
		argv = slices.Delete(argv, i, i+2)
	} else {
		argv = slices.Delete(argv, i, i+1)
	}
	p = runProc(ctx, append([]string{bin}, argv...), vars, home)
	if p.code != 0 {
		t.Fatalf("single process: %v", p)
	}
	values, _, _ := runFlags.parseArgs(argv[1:])
	_, singleSum := report(t, bin, values["out"])

	if got, want := mergedSum.counts(), singleSum.counts(); got != want {
		t.Errorf("merged shards:\n%ssingle process:\n%s", got, want)
	}
	if mergedSum.All.Cycles != rehearsalCycles || mergedSum.All.OK != rehearsalCycles || mergedSum.All.Bytes != rehearsalCycles*fileSize {
		t.Errorf("merged: %+v, want %d ok cycles of %d bytes", mergedSum.All, rehearsalCycles, fileSize)
	}
	// The rates: offered (the schedule of intended starts) always;
	// achieved (cycles/s) where the run kept to its schedule.
	for _, run := range []struct {
		what string
		recs []record
		sum  summary
	}{{"merged shards", recs, mergedSum}, {"single process", readRecords(t, values["out"]), singleSum}} {
		first, last := run.recs[0].Intended, run.recs[0].Intended
		for _, r := range run.recs {
			if r.Intended.IsZero() {
				t.Fatalf("%s: record %+v has no intended start: not the open model?", run.what, r)
			}
			if r.Intended.Before(first) {
				first = r.Intended
			}
			if r.Intended.After(last) {
				last = r.Intended
			}
		}
		offered := float64(len(run.recs)-1) / last.Sub(first).Seconds()
		achieved, wait := run.sum.All.CyclesPerSec, run.sum.All.Wait.P50
		t.Logf("%s: offered %.1f/s, achieved %.1f cycles/s, median start lag %v (RATE %d)", run.what, offered, achieved, wait, rehearsalRate)
		if offered < rehearsalRate*(1-offeredTolerance) || offered > rehearsalRate*(1+offeredTolerance) {
			t.Errorf("%s: cycles were due at %.1f/s, want %d ± %.0f%%", run.what, offered, rehearsalRate, offeredTolerance*100)
		}
		switch {
		case wait > keptUp:
			t.Logf("%s: cycles started %v behind schedule (median): this machine could not keep up with %d/s, so cycles/s is not held to it", run.what, wait, rehearsalRate)
		case achieved < rehearsalRate*(1-rateTolerance) || achieved > rehearsalRate*(1+rateTolerance):
			t.Errorf("%s: %.1f cycles/s, want %d ± %.0f%%", run.what, achieved, rehearsalRate, rateTolerance*100)
		}
	}

	// The password is in no record, sidecar, report or output.
	for _, s := range secrets {
		for _, v := range s {
			if !strings.HasPrefix(v, "pw-") {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*"))
			for _, f := range files {
				if b, _ := os.ReadFile(f); bytes.Contains(b, []byte(v)) {
					t.Errorf("the password appears in %s", filepath.Base(f))
				}
			}
			for _, p := range append(shardProcs, p) {
				if strings.Contains(p.stdout+p.stderr, v) {
					t.Errorf("the password appears in the output of %v", p.argv)
				}
			}
		}
	}
}
