// Package deploy holds no Go code, only the tests of deploy/Dockerfile and
// the Kubernetes manifests in deploy/k8s: that the Dockerfile builds a
// static ftpbench with the Go version of go.mod, that the manifests hang
// together (shard count, ConfigMap keys, volumes, no password), that every
// flag their command lines use exists in the CLI, and — in
// rehearsal_test.go — that their command lines, run as the pods would run
// them, shard a run and merge it back into the run one process makes.
package deploy

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// moduleRoot is the repository root, seen from this package's directory
// (where `go test` runs it).
const moduleRoot = ".."

// The objects of deploy/k8s, decoded strictly (unknown fields are errors,
// so a misspelt field fails here instead of being dropped by a lenient
// reader); subtrees the tests do not look into are kept as any.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"` // ConfigMap
	Spec objectSpec        `yaml:"spec"`
	file string
}

// objectSpec is the spec of a Job or a PersistentVolumeClaim.
type objectSpec struct {
	// Job
	CompletionMode        string `yaml:"completionMode"`
	Completions           *int   `yaml:"completions"`
	Parallelism           *int   `yaml:"parallelism"`
	BackoffLimit          *int   `yaml:"backoffLimit"`
	BackoffLimitPerIndex  *int   `yaml:"backoffLimitPerIndex"`
	ActiveDeadlineSeconds *int   `yaml:"activeDeadlineSeconds"`
	Template              struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec podSpec `yaml:"spec"`
	} `yaml:"template"`
	// PersistentVolumeClaim
	AccessModes      []string `yaml:"accessModes"`
	StorageClassName string   `yaml:"storageClassName"`
	Resources        any      `yaml:"resources"`
}

type podSpec struct {
	RestartPolicy             string      `yaml:"restartPolicy"`
	SecurityContext           any         `yaml:"securityContext"`
	TopologySpreadConstraints any         `yaml:"topologySpreadConstraints"`
	NodeSelector              any         `yaml:"nodeSelector"`
	InitContainers            []container `yaml:"initContainers"`
	Containers                []container `yaml:"containers"`
	Volumes                   []struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
	} `yaml:"volumes"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	Env             []envVar `yaml:"env"`
	EnvFrom         []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	Resources       any `yaml:"resources"`
	SecurityContext any `yaml:"securityContext"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
	} `yaml:"valueFrom"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

// indexAnnotation is where an Indexed Job's pod finds its index.
const indexAnnotation = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

// manifests is everything in deploy/k8s, by kind and name.
type manifests struct {
	configMaps map[string]map[string]string
	pvcs       map[string]*object
	// shards is the Indexed Job, merge the other Job.
	shards, merge *object
}

// loadManifests decodes every document of deploy/k8s/*.yaml.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s (%v)", err)
	}
	m := &manifests{configMaps: map[string]map[string]string{}, pvcs: map[string]*object{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		for {
			o := &object{file: f}
			if err := dec.Decode(o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" && o.Metadata.Name == "" {
				continue // an empty document
			}
			key := o.Kind + "/" + o.Metadata.Name
			if o.Metadata.Name == "" {
				t.Fatalf("%s: a %s without a name", f, o.Kind)
			}
			switch o.Kind {
			case "ConfigMap":
				if _, dup := m.configMaps[o.Metadata.Name]; dup {
					t.Fatalf("%s: %s defined twice", f, key)
				}
				m.configMaps[o.Metadata.Name] = o.Data
			case "PersistentVolumeClaim":
				m.pvcs[o.Metadata.Name] = o
			case "Job":
				if o.APIVersion != "batch/v1" {
					t.Errorf("%s: %s has apiVersion %q, want batch/v1", f, key, o.APIVersion)
				}
				if o.Spec.CompletionMode == "Indexed" {
					if m.shards != nil {
						t.Fatalf("%s: two Indexed Jobs (%s, %s)", f, m.shards.Metadata.Name, o.Metadata.Name)
					}
					m.shards = o
				} else {
					if m.merge != nil {
						t.Fatalf("%s: two non-indexed Jobs (%s, %s)", f, m.merge.Metadata.Name, o.Metadata.Name)
					}
					m.merge = o
				}
			default:
				t.Fatalf("%s: unexpected kind %s (a Secret, say, must not be committed)", f, o.Kind)
			}
		}
	}
	if m.shards == nil || m.merge == nil {
		t.Fatalf("want an Indexed Job (the shards) and a second Job (the merge) in deploy/k8s")
	}
	return m
}

// env resolves a container's environment as the kubelet does: envFrom
// ConfigMaps first, then env in order (env wins; a value's $(VAR) refers to
// variables defined before it). configMaps and secrets stand for the
// cluster's objects; index is the pod's completion index ("" outside an
// Indexed Job). An optional key that is missing leaves its variable unset.
func env(t *testing.T, c container, configMaps, secrets map[string]map[string]string, index string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			t.Fatalf("container %s: envFrom other than configMapRef", c.Name)
		}
		cm, ok := configMaps[ef.ConfigMapRef.Name]
		if !ok {
			t.Fatalf("container %s: envFrom ConfigMap %q, not in deploy/k8s", c.Name, ef.ConfigMapRef.Name)
		}
		for k, v := range cm {
			vars[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.Value != nil:
			vars[e.Name] = expand(*e.Value, vars)
		case e.ValueFrom == nil:
			t.Fatalf("container %s: env %s has neither value nor valueFrom", c.Name, e.Name)
		case e.ValueFrom.FieldRef != nil:
			if e.ValueFrom.FieldRef.FieldPath != indexAnnotation || index == "" {
				t.Fatalf("container %s: env %s from field %q: only the completion index of an Indexed Job is known here",
					c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
			vars[e.Name] = index
		case e.ValueFrom.ConfigMapKeyRef != nil, e.ValueFrom.SecretKeyRef != nil:
			ref, from := e.ValueFrom.ConfigMapKeyRef, configMaps
			if ref == nil {
				ref, from = e.ValueFrom.SecretKeyRef, secrets
			}
			v, ok := from[ref.Name][ref.Key]
			switch {
			case ok:
				vars[e.Name] = v
			case !ref.Optional:
				t.Fatalf("container %s: env %s from %s key %s, which does not exist", c.Name, e.Name, ref.Name, ref.Key)
			}
		default:
			t.Fatalf("container %s: env %s: unsupported valueFrom", c.Name, e.Name)
		}
	}
	return vars
}

// expand replaces $(NAME) in s with vars[NAME] as Kubernetes does in
// command, args and env values: "$$" is a literal "$", and a reference to an
// undefined variable is left as it is.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// varRef finds $(NAME) references; one left after expand names a variable
// the container does not define, which Kubernetes would pass on literally.
var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// commandLine returns c's command line expanded with vars, paths under its
// volume mounts moved to hostDir (every volume here is the one results
// volume), and fails on an undefined variable.
func commandLine(t *testing.T, c container, vars map[string]string, hostDir string) []string {
	t.Helper()
	var out []string
	for _, a := range append(slices.Clone(c.Command), c.Args...) {
		a = expand(a, vars)
		if m := varRef.FindStringSubmatch(a); m != nil {
			t.Fatalf("container %s: $(%s) in %q is not defined in its env or envFrom", c.Name, m[1], a)
		}
		for _, vm := range c.VolumeMounts {
			a = strings.ReplaceAll(a, strings.TrimSuffix(vm.MountPath, "/")+"/", hostDir+"/")
		}
		out = append(out, a)
	}
	return out
}

// cliFlags are the flags of one ftpbench command, as its --help lists
// them: long name → whether it takes a value; shorthand → long name.
type cliFlags struct {
	takesValue map[string]bool
	short      map[string]string
}

// helpFlag matches a flag line of pflag's usage: "  -n, --cycles int   …",
// "      --virtual[=true|false]   …" (a flag with no value type is boolean).
var helpFlag = regexp.MustCompile(`^\s+(?:-([A-Za-z0-9]), )?--([A-Za-z0-9][A-Za-z0-9-]*)(\[=[^\]]*\])?(?: ([A-Za-z0-9.]+))?(?:\s|$)`)

// flagsOf runs `ftpbench CMD --help` and reads its flags.
func flagsOf(t *testing.T, bin, cmd string) cliFlags {
	t.Helper()
	out, err := exec.Command(bin, cmd, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ftpbench %s --help: %v\n%s", cmd, err, out)
	}
	f := cliFlags{takesValue: map[string]bool{}, short: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := helpFlag.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f.takesValue[m[2]] = m[3] == "" && m[4] != ""
		if m[1] != "" {
			f.short[m[1]] = m[2]
		}
	}
	if len(f.takesValue) < 2 {
		t.Fatalf("ftpbench %s --help lists %d flags; the help format changed?\n%s", cmd, len(f.takesValue), out)
	}
	return f
}

// parseArgs checks args (after the command name) against flags: every flag
// must exist, and one that takes a value must have one. It returns the
// values by long name and the positional arguments.
func (f cliFlags) parseArgs(args []string) (values map[string]string, positional []string, err error) {
	values = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var name, value string
		hasValue := false
		switch {
		case a == "--":
			return values, append(positional, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue = strings.Cut(a[2:], "=")
		case strings.HasPrefix(a, "-") && len(a) > 1:
			long, ok := f.short[a[1:2]]
			if !ok {
				return nil, nil, fmt.Errorf("unknown shorthand flag %q", a)
			}
			name = long
			if len(a) > 2 {
				value, hasValue = strings.TrimPrefix(a[2:], "="), true
			}
		default:
			positional = append(positional, a)
			continue
		}
		takes, ok := f.takesValue[name]
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("unknown flag --%s", name)
		case takes && !hasValue:
			if i+1 == len(args) {
				return nil, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			value = args[i]
		case !takes && !hasValue:
			value = "true"
		}
		values[name] = value
	}
	return values, positional, nil
}

// The ftpbench binary, built once per test process by the Dockerfile's own
// build command (see buildAsDockerfile).
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ftpbenchBinary returns the path of an ftpbench built as deploy/Dockerfile
// builds it.
func ftpbenchBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		df, err := parseDockerfile(filepath.Join("Dockerfile"))
		if err != nil {
			buildErr = err
			return
		}
		if binDir, err = os.MkdirTemp("", "ftpbench-deploy-"); err != nil {
			buildErr = err
			return
		}
		binPath, buildErr = buildAsDockerfile(df, binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// A Dockerfile, reduced to what the tests look at.
type dockerfile struct {
	stages []stage
}

type stage struct {
	from, name string
	instrs     []instruction
}

type instruction struct {
	op   string // upper case: RUN, COPY, …
	args string
}

// parseDockerfile reads a Dockerfile: comments and blank lines dropped,
// "\" continuations joined, instructions grouped by FROM.
func parseDockerfile(path string) (*dockerfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	df := &dockerfile{}
	var cont strings.Builder
	for n, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cont.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cont.WriteString(s + " ")
			continue
		}
		cont.WriteString(trimmed)
		full := cont.String()
		cont.Reset()
		op, args, _ := strings.Cut(full, " ")
		op, args = strings.ToUpper(op), strings.TrimSpace(args)
		if op == "FROM" {
			f := strings.Fields(args)
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else if len(f) != 1 {
				return nil, fmt.Errorf("%s:%d: FROM %s: want IMAGE [AS NAME]", path, n+1, args)
			}
			df.stages = append(df.stages, st)
			continue
		}
		if len(df.stages) == 0 {
			return nil, fmt.Errorf("%s:%d: %s before the first FROM", path, n+1, op)
		}
		st := &df.stages[len(df.stages)-1]
		st.instrs = append(st.instrs, instruction{op, args})
	}
	return df, nil
}

// goBuild finds the builder stage's `go build` and returns its environment
// assignments, its argv (from "go") and the output path it names with -o.
func (df *dockerfile) goBuild() (envs, argv []string, out string, err error) {
	for _, in := range df.stages[0].instrs {
		if in.op != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		f := strings.Fields(in.args)
		for len(f) > 0 && strings.HasPrefix(f[0], "--") { // --mount=…, --network=…
			f = f[1:]
		}
		for len(f) > 0 && strings.Contains(f[0], "=") && !strings.HasPrefix(f[0], "-") {
			envs, f = append(envs, f[0]), f[1:]
		}
		if len(f) < 2 || f[0] != "go" || f[1] != "build" {
			return nil, nil, "", fmt.Errorf("RUN %s: want [--mount…] [VAR=value…] go build …", in.args)
		}
		for i, a := range f {
			if a == "-o" && i+1 < len(f) {
				out = f[i+1]
			}
		}
		if out == "" {
			return nil, nil, "", fmt.Errorf("RUN %s: no -o OUTPUT", in.args)
		}
		return envs, f, out, nil
	}
	return nil, nil, "", errors.New("Dockerfile: no RUN … go build in the first stage")
}

// buildAsDockerfile runs the Dockerfile's go build command in the
// repository root, with only its -o output moved into dir, and checks that
// the result is statically linked (the final stage has no libc).
func buildAsDockerfile(df *dockerfile, dir string) (string, error) {
	envs, argv, out, err := df.goBuild()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "ftpbench")
	args := slices.Clone(argv[1:])
	for i := range args {
		if args[i] == "-o" {
			args[i+1] = bin
		}
	}
	goTool, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), envs...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("the Dockerfile's build, %s go %s (as %s): %v\n%s",
			strings.Join(envs, " "), strings.Join(args, " "), out, err, msg)
	}
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			return "", err
		}
		defer f.Close()
		libs, _ := f.ImportedLibraries()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || len(libs) > 0 {
				return "", fmt.Errorf("the Dockerfile's build is dynamically linked (libraries %v): the distroless static image has no libc", libs)
			}
		}
	}
	return bin, nil
}

// TestDockerfile checks deploy/Dockerfile without Docker: a golang builder
// of go.mod's Go version, a CGO_ENABLED=0 build of ./cmd/ftpbench, and a
// final distroless/scratch stage that copies that binary and runs it.
func TestDockerfile(t *testing.T) {
	df, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(df.stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(df.stages))
	}
	build, final := df.stages[0], df.stages[len(df.stages)-1]

	gomod, err := os.ReadFile(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("no go directive in go.mod")
	}
	image, tag, _ := strings.Cut(build.from, ":")
	if image != "golang" || !(tag == string(goVersion[1]) || strings.HasPrefix(tag, string(goVersion[1])+".") || strings.HasPrefix(tag, string(goVersion[1])+"-")) {
		t.Errorf("builder FROM %s: want golang:%s (go.mod's go version)", build.from, goVersion[1])
	}
	if build.name == "" {
		t.Errorf("builder FROM %s has no AS NAME for the final stage to copy from", build.from)
	}

	envs, argv, out, err := df.goBuild()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(envs, "CGO_ENABLED=0") {
		t.Errorf("go build with %v: want CGO_ENABLED=0 for a static binary", envs)
	}
	if argv[len(argv)-1] != "./cmd/ftpbench" {
		t.Errorf("go build builds %s, want ./cmd/ftpbench", argv[len(argv)-1])
	}

	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final FROM %s: want gcr.io/distroless/static… or scratch", final.from)
	}
	var copied string
	var entrypoint []string
	for _, in := range final.instrs {
		switch in.op {
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) == 3 && f[0] == "--from="+build.name && f[1] == out {
				copied = f[2]
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(in.args), &entrypoint); err != nil {
				t.Errorf("ENTRYPOINT %s: want the exec form, a JSON array (%v)", in.args, err)
			}
		case "RUN":
			t.Errorf("final stage RUN %s: the final image has no shell", in.args)
		}
	}
	if copied == "" {
		t.Fatalf("final stage does not COPY --from=%s %s", build.name, out)
	}
	if len(entrypoint) != 1 || entrypoint[0] != copied {
		t.Errorf("ENTRYPOINT %v: want [%q] (the manifests give args only)", entrypoint, copied)
	}
}

// TestManifests checks deploy/k8s: an Indexed Job whose completions,
// parallelism and SHARDS agree, writing one file per shard to a
// ReadWriteMany claim that the merge Job reads back in full; credentials
// from a Secret only; and every command line made of flags the CLI has.
func TestManifests(t *testing.T) {
	m := loadManifests(t)
	bin := ftpbenchBinary(t)
	shardJob, mergeJob := m.shards, m.merge
	spec := shardJob.Spec

	cm := configMapOf(t, m, shardJob)
	shards, err := strconv.Atoi(cm["SHARDS"])
	if err != nil || shards < 2 {
		t.Fatalf("SHARDS %q in ConfigMap: want a number ≥ 2 (%v)", cm["SHARDS"], err)
	}
	if spec.Completions == nil || spec.Parallelism == nil || *spec.Completions != shards || *spec.Parallelism != shards {
		t.Errorf("%s: completions %v, parallelism %v: want both = SHARDS = %d", shardJob.Metadata.Name, deref(spec.Completions), deref(spec.Parallelism), shards)
	}
	if !slices.Equal(configMapNames(shardJob), configMapNames(mergeJob)) {
		t.Errorf("the Jobs read different ConfigMaps: %v and %v", configMapNames(shardJob), configMapNames(mergeJob))
	}
	for _, j := range []*object{shardJob, mergeJob} {
		checkPod(t, m, j)
	}

	// The shard container: ftpbench run --segment INDEX/SHARDS, results
	// under the volume, one file per index; credentials from a Secret.
	if n := len(spec.Template.Spec.Containers) + len(spec.Template.Spec.InitContainers); n != 1 {
		t.Fatalf("%s: %d containers, want 1", shardJob.Metadata.Name, n)
	}
	c := spec.Template.Spec.Containers[0]
	var indexFromAnnotation bool
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == indexAnnotation {
			indexFromAnnotation = true
		}
	}
	if !indexFromAnnotation {
		t.Errorf("%s: JOB_COMPLETION_INDEX must be defined in env from %s, or $(JOB_COMPLETION_INDEX) in args is not expanded", shardJob.Metadata.Name, indexAnnotation)
	}
	for _, name := range []string{"FTPBENCH_USER", "FTPBENCH_PASSWORD"} {
		i := slices.IndexFunc(c.Env, func(e envVar) bool { return e.Name == name })
		if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: env %s must come from a secretKeyRef", shardJob.Metadata.Name, name)
		}
	}
	// The ConfigMap's values must be what the flags they fill take.
	for key, parse := range map[string]func(string) error{
		"START_AT": func(v string) error { _, err := time.Parse(time.RFC3339, v); return err },
		"DURATION": func(v string) error { _, err := time.ParseDuration(v); return err },
		"RATE":     func(v string) error { _, err := strconv.ParseFloat(v, 64); return err },
		"USERS":    func(v string) error { _, err := strconv.Atoi(v); return err },
		"CYCLES":   func(v string) error { _, err := strconv.Atoi(v); return err },
		"RUN": func(v string) error {
			if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`).MatchString(v) {
				return errors.New("want a file name: letters, digits, . _ -")
			}
			return nil
		},
	} {
		if v, ok := cm[key]; !ok {
			t.Errorf("ConfigMap has no %s", key)
		} else if err := parse(v); err != nil {
			t.Errorf("ConfigMap %s %q: %v", key, v, err)
		}
	}
	if tu, ok := cm["TARGET_URL"]; !ok {
		t.Errorf("no TARGET_URL in the ConfigMap")
	} else if u, err := url.Parse(tu); err != nil || u.Scheme != "ftp" {
		t.Errorf("TARGET_URL %q: want an ftp:// URL (%v)", tu, err)
	} else if _, has := u.User.Password(); has {
		t.Errorf("TARGET_URL %q carries a password: it belongs in the Secret", tu)
	}

	runFlags := flagsOf(t, bin, "run")
	var outs []string // by shard index
	for i := range shards {
		vars := env(t, c, m.configMaps, nil, strconv.Itoa(i))
		argv := commandLine(t, c, vars, "/host")
		if len(c.Command) != 0 || argv[0] != "run" {
			t.Fatalf("%s: command %v args %v: want args `run …` and no command (the image's ENTRYPOINT is ftpbench)", shardJob.Metadata.Name, c.Command, c.Args)
		}
		values, pos, err := runFlags.parseArgs(argv[1:])
		if err != nil {
			t.Fatalf("%s: ftpbench %s: %v", shardJob.Metadata.Name, strings.Join(argv, " "), err)
		}
		if want := fmt.Sprintf("%d/%d", i, shards); values["segment"] != want {
			t.Errorf("pod %d: --segment %q, want %q", i, values["segment"], want)
		}
		if values["start-at"] == "" {
			t.Errorf("pod %d: no --start-at: shards scheduled at different moments would not start together", i)
		}
		if len(pos) != 1 || pos[0] != cm["TARGET_URL"] {
			t.Errorf("pod %d: positional arguments %q, want the TARGET_URL alone", i, pos)
		}
		o := values["out"]
		if !strings.HasPrefix(o, "/host/") || slices.Contains(outs, o) {
			t.Errorf("pod %d: --out %q: want a file of its own on the results volume", i, o)
		}
		outs = append(outs, o)
	}

	// The merge Job: merge every shard's file, then report on the merged one.
	ms := mergeJob.Spec.Template.Spec
	var merge, report []string
	for _, c := range append(slices.Clone(ms.InitContainers), ms.Containers...) {
		argv := commandLine(t, c, env(t, c, m.configMaps, nil, ""), "/host")
		if c.Image != spec.Template.Spec.Containers[0].Image {
			if len(c.Command) == 0 {
				t.Errorf("%s: container %s has another image (%s) and no command", mergeJob.Metadata.Name, c.Name, c.Image)
			}
			continue // the waiter; rehearsal_test.go runs it
		}
		if len(c.Command) != 0 {
			t.Errorf("%s: container %s gives a command; the image's ENTRYPOINT is ftpbench", mergeJob.Metadata.Name, c.Name)
		}
		switch argv[0] {
		case "merge":
			merge = argv
		case "report":
			report = argv
		default:
			t.Errorf("%s: container %s runs ftpbench %s", mergeJob.Metadata.Name, c.Name, argv[0])
		}
	}
	if merge == nil || report == nil {
		t.Fatalf("%s: want a container running ftpbench merge and one running ftpbench report", mergeJob.Metadata.Name)
	}
	mv, inputs, err := flagsOf(t, bin, "merge").parseArgs(merge[1:])
	if err != nil {
		t.Fatalf("ftpbench %s: %v", strings.Join(merge, " "), err)
	}
	want := slices.Sorted(slices.Values(outs))
	if got := slices.Sorted(slices.Values(inputs)); !slices.Equal(got, want) {
		t.Errorf("merge reads %q, want every shard's file %q", got, want)
	}
	rv, rin, err := flagsOf(t, bin, "report").parseArgs(report[1:])
	if err != nil {
		t.Fatalf("ftpbench %s: %v", strings.Join(report, " "), err)
	}
	if len(rin) != 1 || rin[0] != mv["out"] || mv["out"] == "" {
		t.Errorf("report reads %q, want the merged file %q", rin, mv["out"])
	}
	if !strings.HasPrefix(rv["html"], "/host/") {
		t.Errorf("report --html %q: want a file on the results volume", rv["html"])
	}
}

// checkPod checks a Job's pod: restartPolicy Never, every volume mount
// backed by a ReadWriteMany claim of deploy/k8s, the same claim for all.
func checkPod(t *testing.T, m *manifests, j *object) {
	t.Helper()
	ps := j.Spec.Template.Spec
	if ps.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q, want Never (a failure must show as a failed pod; a shard restarted in place would rerun part of the load late)", j.Metadata.Name, ps.RestartPolicy)
	}
	claims := map[string]string{}
	for _, v := range ps.Volumes {
		if v.PersistentVolumeClaim == nil {
			t.Errorf("%s: volume %s is not a PersistentVolumeClaim", j.Metadata.Name, v.Name)
			continue
		}
		pvc, ok := m.pvcs[v.PersistentVolumeClaim.ClaimName]
		if !ok {
			t.Errorf("%s: claim %s is not in deploy/k8s", j.Metadata.Name, v.PersistentVolumeClaim.ClaimName)
		} else if !slices.Contains(pvc.Spec.AccessModes, "ReadWriteMany") {
			t.Errorf("claim %s: access modes %v, want ReadWriteMany (pods on several nodes write at once)", pvc.Metadata.Name, pvc.Spec.AccessModes)
		}
		claims[v.Name] = v.PersistentVolumeClaim.ClaimName
	}
	for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
		if len(c.VolumeMounts) == 0 {
			t.Errorf("%s: container %s mounts no results volume", j.Metadata.Name, c.Name)
		}
		for _, vm := range c.VolumeMounts {
			if _, ok := claims[vm.Name]; !ok {
				t.Errorf("%s: container %s mounts %s, which is not a volume of the pod", j.Metadata.Name, c.Name, vm.Name)
			}
		}
	}
	if len(m.pvcs) != 1 {
		t.Errorf("%d claims in deploy/k8s, want the one results volume", len(m.pvcs))
	}
}

// configMapOf returns the data of the (one) ConfigMap a Job's containers
// take their environment from.
func configMapOf(t *testing.T, m *manifests, j *object) map[string]string {
	t.Helper()
	names := configMapNames(j)
	if len(names) != 1 {
		t.Fatalf("%s: containers read ConfigMaps %v, want one", j.Metadata.Name, names)
	}
	cm, ok := m.configMaps[names[0]]
	if !ok {
		t.Fatalf("%s: ConfigMap %s is not in deploy/k8s", j.Metadata.Name, names[0])
	}
	return cm
}

// configMapNames lists the ConfigMaps a Job's containers use, sorted.
func configMapNames(j *object) []string {
	var names []string
	ps := j.Spec.Template.Spec
	for _, c := range append(slices.Clone(ps.InitContainers), ps.Containers...) {
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil && !slices.Contains(names, ef.ConfigMapRef.Name) {
				names = append(names, ef.ConfigMapRef.Name)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil && !slices.Contains(names, e.ValueFrom.ConfigMapKeyRef.Name) {
				names = append(names, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func deref(p *int) any {
	if p == nil {
		return "unset"
	}
	return *p
}
