#!/usr/bin/env bash
# Builds every libFuzzer target (tag "fuzz_target") with clang and runs each
# for a bounded time. Fails on any crash, leak or sanitizer report.
#   tools/fuzz.sh [SECONDS_PER_TARGET]     (default 60)
# Prints one "fuzz <target>: ok|FAILED" line per target. Uses its own Bazel
# output base so the gcc build cache is untouched.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
secs=${1:-60}
ob="${HOME}/.cache/bazel-vantage-fuzz"
B=(bazel --output_base="$ob")
targets=$("${B[@]}" query 'attr(tags, "fuzz_target", //...)' 2>/dev/null)
[ -n "$targets" ] || { echo "fuzz: no targets"; exit 1; }
# shellcheck disable=SC2086
"${B[@]}" build --config=fuzz --config=ci $targets </dev/null || { echo "fuzz: build FAILED"; "${B[@]}" shutdown; exit 1; }
rc=0
out=${TEST_UNDECLARED_OUTPUTS_DIR:-$(mktemp -d)}
for t in $targets; do
  bin="$("${B[@]}" info bazel-bin 2>/dev/null)/$(echo "${t#//}" | tr ':' '/')"
  pkg=${t#//}; pkg=${pkg%%:*}
  corpus="$out/corpus-$(basename "$bin")"; mkdir -p "$corpus"
  seeds=()
  name=$(basename "$bin" _libfuzzer)
  name=${name%_fuzz}
  for d in "$top/$pkg/testdata/fuzz/$name" "$top/$pkg/testdata/fuzz/$(basename "$bin" _libfuzzer)"; do
    [ -d "$d" ] && seeds=("$d") && break
  done
  if (cd "$out" && "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        "$corpus" "${seeds[@]}" >"$out/$(basename "$bin").log" 2>&1); then
    echo "fuzz $t: ok ($(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$out/$(basename "$bin").log" | awk '{print $2}') runs in ${secs}s)"
  else
    echo "fuzz $t: FAILED (log: $out/$(basename "$bin").log)"; tail -40 "$out/$(basename "$bin").log"; rc=1
  fi
done
"${B[@]}" shutdown
exit $rc
