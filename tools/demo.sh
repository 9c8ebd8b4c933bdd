#!/usr/bin/env bash
# demo.sh - Vantage end to end on one machine (README command 1).
#
#   sudo tools/demo.sh          set up, validate once, then keep serving until Ctrl-C
#   sudo tools/demo.sh --once   set up, validate once, print the ValidationResult as one
#                               JSON line (the LAST line of output), stop; exit 0 iff valid
#
# What it does (as root, on a fresh Debian 12 machine):
#  1. installs the missing Debian packages (tools/install-deps.sh) and builds with Bazel;
#  2. makes a throw-away test CA and certificates (mTLS on every hop);
#  3. builds the network lab (tests/dns/lab.sh): an "inet" network namespace hosting the
#     DNS fixture - real knotd serving a DNSSEC-signed private root, TLD and customer
#     zones - and five region namespaces joined to it by veth links;
#  4. starts five vantage-perspective agents, one per region namespace (so each really
#     resolves over its own path), in five different RIRs, each with its own libunbound
#     validating from the private root's trust anchor;
#  5. generates an ACME account key (EC P-256), stores the account in a SQLite account
#     store, computes the draft-02 record with `vantagectl record` (bound to the key),
#     and publishes it into the signed zone with knsupdate;
#  6. starts vantage-va (primary perspective in-process, the five remotes over mTLS) and
#     validates the domain through it with `vantagectl validate`, as the RA would.
# Everything stays inside the namespaces the demo creates; nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

once=0
for a in "$@"; do
  case "$a" in
    --once) once=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--once]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E "$0" "$@"; fi
  echo "demo.sh: needs root (network namespaces, knotd on port 53)" >&2; exit 1
fi

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
DEMO=${VANTAGE_DEMO_DIR:-/tmp/vantage-demo}
export LAB_PREFIX=vdemo LAB_DIR=$DEMO/lab
LAB="$ROOT/tests/dns/lab.sh"
DOMAIN=shop.example.test
ACCOUNT_URL=https://ca.example/acct/demo-1
ISSUER=ca.example
PREFIX=https://ca.example/account-hash/
RIRS=(RIR_ARIN RIR_RIPE RIR_APNIC RIR_LACNIC RIR_AFRINIC)
REGIONS=(us-east eu-west ap-south sa-east af-south)
VA_ADDR=127.0.0.1:8443
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$LAB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "1/6 installing what is missing and building"
tools/install-deps.sh >&2
bazel build --config=opt //va:vantage-va //perspective:vantage-perspective //cli:vantagectl \
  //tests/pki:make_test_pki >&2
BIN=$(bazel info --config=opt bazel-bin 2>/dev/null)
CTL=$BIN/cli/vantagectl

"$LAB" down >/dev/null 2>&1 || true
rm -rf "$DEMO"; mkdir -p "$DEMO"/{pki,conf,log,keys}

say "2/6 test CA and certificates (mTLS on every hop)"
"$BIN/tests/pki/make_test_pki" --out="$DEMO/pki" --validity=168h >&2
PKI=$DEMO/pki

say "3/6 network lab: DNS fixture (knotd, signed private root) + 5 region namespaces"
"$LAB" up 5 >&2
CLIENT=$LAB_DIR/dns/client

say "4/6 five remote perspectives, one per region namespace"
resolver_block() {
  cat <<EOF
  trust_anchor_file: "$CLIENT/root.ta"
  root_hints_file: "$CLIENT/root.hints"
  allow_loopback_servers: true   # the private root lives on test addresses
  unblock_local_zones: "test."   # RFC 6761 zone used by the fixture
  infra_cache_max_rtt_ms: 500
EOF
}
for k in 1 2 3 4 5; do
  cat >"$DEMO/conf/perspective-$k.textproto" <<EOF
id: "p$k"
rir: ${RIRS[$((k-1))]}
region: "${REGIONS[$((k-1))]}"
listen_address: "10.99.$k.2:4431"
metrics_address: "10.99.$k.2:9101"
resolver {
$(resolver_block)
}
tls {
  cert_file: "$PKI/server-perspective.vantage.test.pem"
  key_file: "$PKI/server-perspective.vantage.test.key"
  client_ca_file: "$PKI/ca.pem"
  allowed_client_names: "va.vantage.test"
}
EOF
  "$LAB" exec "$k" "$BIN/perspective/vantage-perspective" --config="$DEMO/conf/perspective-$k.textproto" \
    >"$DEMO/log/perspective-$k.out" 2>"$DEMO/log/perspective-$k.err" &
  PIDS+=($!)
done
wait_line() { # FILE TEXT SECONDS
  local i
  for i in $(seq $(( $3 * 20 ))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "timeout waiting for '$2' in $1:" >&2; tail -5 "${1%.out}.err" >&2 || true; return 1
}
for k in 1 2 3 4 5; do wait_line "$DEMO/log/perspective-$k.out" "listening on" 30; done

say "5/6 account key, account store, and the record it must publish"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$DEMO/keys/account.key" 2>/dev/null
openssl pkey -in "$DEMO/keys/account.key" -pubout -out "$DEMO/keys/account.pub"
STORE=sqlite:$DEMO/accounts.db
"$CTL" accounts add --accounts="$STORE" --account-url="$ACCOUNT_URL" \
  --public-key="$DEMO/keys/account.pub" >&2
RECORD=$("$CTL" record --domain="$DOMAIN" --issuer="$ISSUER" --account-url="$ACCOUNT_URL" \
  --hash-prefix="$PREFIX" --public-key="$DEMO/keys/account.pub")
echo "$RECORD" >&2
printf 'server 10.53.1.1 53\nzone example.test.\nttl 60\nupdate add %s\nsend\n' "$RECORD" |
  "$LAB" inet knsupdate >&2

say "6/6 the VA (primary perspective in-process + 5 remotes over mTLS)"
{
  cat <<EOF
id: "va-demo"
listen_address: "$VA_ADDR"
metrics_address: "127.0.0.1:9100"
tls {
  cert_file: "$PKI/server-va.vantage.test.pem"
  key_file: "$PKI/server-va.vantage.test.key"
  client_ca_file: "$PKI/ca.pem"
  allowed_client_names: "ra.vantage.test"
}
issuer_domain_names: "$ISSUER"
account_hash_prefix: "$PREFIX"
accounturi_mode: ACCOUNT_URI_MODE_HASHED
primary_id: "primary"
primary_rir: RIR_ARIN
primary_resolver {
$(resolver_block)
}
account_store: "$STORE"
audit { path: "$DEMO/log/audit.jsonl" fsync: FSYNC_EVERY_RECORD }
perspective_deadline { seconds: 3 }
EOF
  for k in 1 2 3 4 5; do
    cat <<EOF
remotes {
  id: "p$k"
  rir: ${RIRS[$((k-1))]}
  address: "10.99.$k.2:4431"
  tls {
    cert_file: "$PKI/client-va.vantage.test.pem"
    key_file: "$PKI/client-va.vantage.test.key"
    ca_file: "$PKI/ca.pem"
    server_name: "perspective.vantage.test"
  }
}
EOF
  done
} >"$DEMO/conf/va.textproto"
"$LAB" inet "$BIN/va/vantage-va" --config="$DEMO/conf/va.textproto" \
  >"$DEMO/log/va.out" 2>"$DEMO/log/va.err" &
PIDS+=($!)
wait_line "$DEMO/log/va.out" "listening on" 30

RA_TLS=(--tls-cert="$PKI/client-ra.vantage.test.pem" --tls-key="$PKI/client-ra.vantage.test.key"
        --tls-ca="$PKI/ca.pem" --tls-server-name=va.vantage.test)
say "validating $DOMAIN for $ACCOUNT_URL through the VA"
set +e
RESULT=$("$LAB" inet "$CTL" validate --va="$VA_ADDR" --domain="$DOMAIN" --account-url="$ACCOUNT_URL" \
  "${RA_TLS[@]}" --json-line)
rc=$?
set -e
python3 - "$RESULT" <<'PY' >&2
import json, sys
r = json.loads(sys.argv[1])
q = r.get("quorum", {})
outcome = r.get("outcome", "?").replace("OUTCOME_", "").lower()
print(f"verdict: {outcome}" + (f" - {r['problem']['detail']}" if outcome != "valid" else ""))
print(f"quorum: {q.get('corroborated', 0)} of {q.get('remotes', 0)} remote perspectives corroborated"
      f" (needed {q.get('required', 0)}), RIRs: {', '.join(x.replace('RIR_', '') for x in q.get('rirs', []))}")
for p in r.get("perspectives", []):
    who = "primary" if p.get("primary") else p.get("perspective_id", "?")
    state = p.get("answer", "").replace("PERSPECTIVE_ANSWER_", "").lower()
    if state == "pending":
        state = "running"  # the quorum was decided before it answered; it goes to the audit log
    dnssec = p.get("observation", {}).get("txt", {}).get("lookup", {}).get("dnssec_state", "").replace("DNSSEC_STATE_", "").lower()
    print(f"  {who:8} {p.get('rir', '').replace('RIR_', ''):8} {state:9} {p.get('outcome', '').replace('OUTCOME_', '').lower():13} dnssec={dnssec}")
if outcome == "valid":
    print(f"valid until {r.get('valid_until')} with key {r['matched_key']['thumbprint']}")
PY

if [ "$once" = 1 ]; then
  echo "$RESULT"
  exit $rc
fi
cat >&2 <<EOF

Vantage is serving (Ctrl-C stops everything). Call it as the RA does:
  ip netns exec vdemo-inet $CTL validate --va=$VA_ADDR --domain=$DOMAIN \\
      --account-url=$ACCOUNT_URL ${RA_TLS[*]}
Look at one perspective directly:
  ip netns exec vdemo-inet $CTL observe --perspective=10.99.1.2:4431 --domain=$DOMAIN \\
      --tls-cert=$PKI/client-va.vantage.test.pem --tls-key=$PKI/client-va.vantage.test.key \\
      --tls-ca=$PKI/ca.pem --tls-server-name=perspective.vantage.test
Break a region (then validate again): $LAB forge 1 on | partition 2 on | isolate 3 on
Metrics: ip netns exec vdemo-inet curl -s 127.0.0.1:9100/metrics | grep vantage_va
Audit log: $DEMO/log/audit.jsonl     Logs: $DEMO/log/
EOF
while :; do sleep 3600; done
