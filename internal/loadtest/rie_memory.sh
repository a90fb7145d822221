#!/bin/bash
# rie_memory.sh records the peak resident memory (VmHWM) of the Lambda
# bootstraps while the packaging test runs them under the runtime interface
# emulator, and prints the peak per function. Run from the repository root:
#   bash internal/loadtest/rie_memory.sh
# It reads /proc without forking per process, so it sees even short-lived
# bootstraps; a figure is the largest VmHWM sampled, a lower bound.
set -u
out=$(mktemp); stop=$(mktemp -u)
(
	while [ ! -e "$stop" ]; do
		for d in /proc/[0-9]*; do
			{ read -r c <"$d/comm"; } 2>/dev/null || continue
			[ "$c" = bootstrap ] || continue
			args=""
			{ read -r -d '' args <"$d/cmdline"; } 2>/dev/null
			{ while read -r k v _; do [ "$k" = "VmHWM:" ] && echo "$args $v" >>"$out"; done <"$d/status"; } 2>/dev/null
		done
	done
) &
APMC_RIE=${APMC_RIE:-$PWD/.tools/bin/aws-lambda-rie} go test -count=1 -v -run 'TestFunctionsUnderEmulator' ./functions/ | grep -E 'cold start|warm invocation'
touch "$stop"; wait
awk '{n = split($1, a, "/"); k = a[n-1]; if ($2 > m[k]) m[k] = $2} END {for (k in m) printf "%s: max RSS %.1f MiB\n", k, m[k] / 1024}' "$out" | sort
rm -f "$out" "$stop"
