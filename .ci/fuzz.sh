#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a short, bounded time, so CI
# catches a parser that panics, hangs or allocates without bound on input
# the seed corpora (f.Add, testdata/fuzz) do not cover.
#
#   bash .ci/fuzz.sh                 # every target, 2 s each (about 90 s in all)
#   FUZZTIME=60s bash .ci/fuzz.sh    # the "60 s per target finds nothing" check
#   bash .ci/fuzz.sh FuzzParseTarget # only targets matching a regexp
#
# Targets are found with `go test -list`, so new ones run without editing
# this file. A failure leaves the crashing input in the package's
# testdata/fuzz/<Target>/ (commit it: it then runs in every `go test`);
# the script runs the remaining targets and exits 1 at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${FUZZTIME:-2s}"
# Bounds a whole target run (compile, baseline corpus, fuzzing): a hang
# inside one input is a failure, not a stuck CI job.
FUZZ_TIMEOUT="${FUZZ_TIMEOUT:-5m}"
# Go minimizes every new "interesting" input for up to 60 s by default,
# counting none of it as execs (golang/go#48820, #51484): a short run can
# spend all of its time there and end on the coordinator's deadline.
FUZZMINTIME="${FUZZMINTIME:-1s}"
only="${1:-.}"

# "pkg target" lines: -list prints a package's matching names, then its
# "ok  <pkg>" line.
mapfile -t targets < <(go test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok / { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }')

start=$SECONDS
# fuzz_one runs one target. Go's fuzzing coordinator sometimes ends a
# short run with a bare "context deadline exceeded" and no failing input
# (golang/go#48127-style flake): that outcome, and only that one, is run
# again once; a real finding writes testdata/fuzz/<Target>/ and fails.
fuzz_one() {
	local pkg="$1" name="$2" out
	for attempt in 1 2; do
		if out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINTIME" -timeout "$FUZZ_TIMEOUT" "$pkg" 2>&1); then
			printf '%s\n' "$out"
			return 0
		fi
		printf '%s\n' "$out"
		if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
			echo "(coordinator deadline flake, no failing input: running $name again)"
			continue
		fi
		return 1
	done
	return 1
}

failed=()
ran=0
for t in "${targets[@]}"; do
	pkg="${t% *}"
	name="${t#* }"
	[[ "$name" =~ $only ]] || continue
	ran=$((ran + 1))
	printf '== %s %s (%s)\n' "$pkg" "$name" "$FUZZTIME"
	if ! fuzz_one "$pkg" "$name"; then
		failed+=("$pkg $name")
	fi
done

printf '\n%d fuzz targets in %ds\n' "$ran" "$((SECONDS - start))"
if [ "$ran" -eq 0 ]; then
	echo "no fuzz target matches '$only'"
	exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
