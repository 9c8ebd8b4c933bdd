#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything,
# runs every test (unit, fixture, end-to-end), runs each fuzzer for a bounded
# time, and prints a closing "N passed, N failed" line counted over every
# GoogleTest case (and one case per fuzzer). Stops the Bazel servers.
#   tools/test.sh [--fuzz-seconds=N]   (default 60; 0 skips fuzzing)
set -u
cd "$(dirname "$0")/.."
fuzz_secs=60
for a in "$@"; do
  case "$a" in
    --fuzz-seconds=*) fuzz_secs=${a#*=} ;;
    *) echo "usage: $0 [--fuzz-seconds=N]" >&2; exit 2 ;;
  esac
done
tools/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
# Only this run's results count: Bazel keeps the XML of earlier runs (e.g.
# run_N_of_M directories left by --runs_per_test) beside the current ones.
started=$(date +%s)
bazel test --config=ci //... </dev/null
rc=$?
# Read the results from this workspace's own output base (the bazel-testlogs
# symlink follows whichever output base ran last).
testlogs=$(bazel info --config=ci bazel-testlogs 2>/dev/null)
fuzz_pass=0; fuzz_fail=0
if [ "$fuzz_secs" != 0 ]; then
  fuzz_log=$(mktemp)
  tools/fuzz.sh "$fuzz_secs" 2>&1 | tee "$fuzz_log"
  fuzz_pass=$(grep -c '^fuzz .*: ok' "$fuzz_log")
  fuzz_fail=$(grep -c '^fuzz .*FAILED' "$fuzz_log")
  [ "$fuzz_fail" = 0 ] || rc=1
fi
STARTED=$started TESTLOGS=$testlogs FUZZ_PASS=$fuzz_pass FUZZ_FAIL=$fuzz_fail python3 - <<'PY'
import glob, os, xml.etree.ElementTree as ET
passed = int(os.environ["FUZZ_PASS"]); failed = int(os.environ["FUZZ_FAIL"])
started = int(os.environ["STARTED"])
for f in glob.glob(os.path.join(os.environ["TESTLOGS"], "**/test.xml"), recursive=True):
    if os.path.getmtime(f) < started:
        continue  # left by an earlier run
    try:
        root = ET.parse(f).getroot()
    except ET.ParseError:
        failed += 1  # a test that crashed before writing its XML
        continue
    cases = list(root.iter("testcase"))
    for tc in cases:
        if tc.find("failure") is not None or tc.find("error") is not None:
            failed += 1
        elif tc.get("status", "run") == "run" and tc.get("result", "completed") != "skipped":
            passed += 1
print(f"{passed} passed, {failed} failed")
PY
bazel shutdown
exit $rc
