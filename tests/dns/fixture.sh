#!/usr/bin/env bash
# fixture.sh - the project's DNS fixture: a private DNSSEC-signed hierarchy served
# by real knotd instances (a root ".", the TLD "test." and customer zones).
# Run as root (or inside the test's own network namespace): every server listens
# on port 53 of loopback-routed addresses, which exist only in that namespace.
#
#   fixture.sh prepare                 write keys, zones, knot configs and client files
#   fixture.sh start                   prepare + start both knotd + wait until every zone answers
#   fixture.sh wait                    wait until every zone answers (knotd started elsewhere)
#   fixture.sh stop                    stop every knotd this script started (by PID)
#   fixture.sh status
#   fixture.sh stop-instance auth|infra   "server down" (SIGKILL; SIG=TERM for a clean stop)
#   fixture.sh start-instance auth|infra  bring it back (waits until it answers)
#   fixture.sh update ZONE CMD...      knsupdate to ZONE's server, e.g.
#       fixture.sh update example.test 'update delete x.example.test. TXT' \
#                                      'update add x.example.test. 2 TXT "v"'
#   fixture.sh start-attacker          extra knotd with forged UNSIGNED example.test and
#                                      insecure.test on $FIX_ATTACKER_IP4 (for DNAT tests)
# The C++ harness (tests/dns/fixture.h) runs `prepare`, forks knotd itself (so it
# can waitpid() them: knotd orphans are reaped late by PID 1 here), then `wait`.
#
# Environment:
#   FIX_DIR           working dir (default ${TMPDIR:-/tmp}/vantage-dns); wiped by prepare
#   FIX_RUNDIR        where knotd's control sockets go (default $FIX_DIR; a UNIX socket
#                     path must stay under 108 octets, so deep test dirs need a short one)
#   FIX_NETNS         if set, knotd/kdig/knsupdate run inside this named network namespace
#   FIX_INFRA_IP4     prefix of the root/TLD servers      (default 127.53.0)
#   FIX_AUTH_IP4      prefix of the customer-zone servers (default 127.53.1)
#   FIX_ATTACKER_IP4  forged-zone server (default <auth prefix minus last octet>.9.1)
#   FIX_TTL           TTL of most records under test (default 60)
#   FIX_LEAF_NAMES    pre-populated _validation-persist.t<N>.leaf.test names (default 100)
#   FIX_LEAF_RECORD   the TXT value of every leaf name (t<N> and *.w), one character-string of
#                     printable ASCII, at most 255 octets (default
#                     "ca.example; accounturi=https://ca.example/acct/leaf"); benchmarks set a
#                     record that is valid for their test account (domain-independent form)
#
# Hierarchy (all port 53; "S" = signed by knot on load and after every update):
#   .              S  ns.root-servers.    $I.1   [knotd "infra"]
#   test.          S  ns1.test.           $I.2   [knotd "infra"]  DS in .
#   example.test.  S  $A.1  secure; DS in test.; dynamic (knsupdate)
#   insecure.test.    $A.2  unsigned, no DS -> insecure; dynamic
#   bogus.test.    S  $A.3  WRONG DS in test. -> bogus ("DS hash mismatches key")
#   expired.test.     $A.4  pre-signed by ldns, RRSIGs expired in 2020 -> bogus
#   tampered.test.    $A.5  pre-signed, TXT edited after signing -> bogus
#   nods.test.     S  $A.6  signed, but no DS in test. -> insecure (not bogus)
#   nosig.test.       $A.7  pre-signed, RRSIG of the TXT stripped -> bogus
#   second.test.   S  $A.8  secure; target of the CNAME/DNAME chains; dynamic
#   leaf.test.     S  $A.10 secure; leaf-miss names for benchmarks; dynamic
#   lame.test.        delegated to $A.99, where nothing listens
#
# Names (owner -> what a resolver sees; see tests/dns/fixture.h for the list
# the tests use, with the exact data):
#   _validation-persist.example.test            TXT, 1 RR                       secure
#   _validation-persist.multi.example.test      TXT, 2 RRs, one with 2 strings  secure
#   _validation-persist.bytes.example.test      TXT, NUL/0xff/quote/backslash/empty strings
#   _validation-persist.big.example.test        TXT, 10 RRs x 200 octets (> 1232: TC=1, TCP)
#   _validation-persist.short.example.test      TXT with TTL 2 (update tests)
#   _validation-persist.wild.example.test       TXT with policy=wildcard
#   _validation-persist.nodata.example.test     A only -> NODATA for TXT        secure
#   _validation-persist.nx.example.test         nothing -> NXDOMAIN             secure
#   *.wc.example.test                           TXT wildcard (synthesized, NSEC-proven)
#   _validation-persist.cname.example.test      CNAME -> _validation-persist.target.second.test
#   _validation-persist.chain.example.test      CNAME -> hop.second.test CNAME -> ...target.second.test
#   _validation-persist.tobogus.example.test    CNAME -> _validation-persist.bogus.test  (bogus)
#   _validation-persist.toinsecure.example.test CNAME -> _validation-persist.insecure.test (insecure)
#   dname.example.test                          DNAME -> second.test
#   CAA: example.test (issue + issuewild), caa.example.test (3 RRs, critical flag),
#        caacname.example.test CNAME -> target.second.test (CAA), insecure.test,
#        bogus.test; none at sub.example.test, second.test or test.
set -euo pipefail

FIX_DIR=${FIX_DIR:-${TMPDIR:-/tmp}/vantage-dns}
I=${FIX_INFRA_IP4:-127.53.0}
A=${FIX_AUTH_IP4:-127.53.1}
ATK=${FIX_ATTACKER_IP4:-${A%.*}.9.1}
RUNDIR=${FIX_RUNDIR:-$FIX_DIR}
TTL=${FIX_TTL:-60}
NEG_TTL=5                  # SOA minimum: negative answers and NSEC records (RFC 9077) expire fast
LEAF_NAMES=${FIX_LEAF_NAMES:-100}
LEAF_RECORD=${FIX_LEAF_RECORD:-ca.example; accounturi=https://ca.example/acct/leaf}
NSX=()
[ -n "${FIX_NETNS:-}" ] && NSX=(ip netns exec "$FIX_NETNS")
PATH=$PATH:/usr/sbin:/sbin

now_ms() { date +%s%3N; }
# alive = exists and is not a zombie
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# instance -> "zone:address:kind" to wait for (kind s = signed, u = unsigned)
wanted() {
  case $1 in
    infra) echo ".:$I.1:s test:$I.2:s" ;;
    auth) echo "example.test:$A.1:s insecure.test:$A.2:u bogus.test:$A.3:s expired.test:$A.4:s" \
               "tampered.test:$A.5:s nods.test:$A.6:s nosig.test:$A.7:s second.test:$A.8:s" \
               "leaf.test:$A.10:s" ;;
    attacker) echo "example.test:$ATK:u" ;;
  esac
}

knot_conf() { # $1 instance name, $2 listen list, $3 zones yaml
  local n=$1
  mkdir -p "$FIX_DIR/$n/db" "$FIX_DIR/$n/zones" "$RUNDIR/$n"
  cat > "$FIX_DIR/$n/knot.conf" <<EOF
server:
    rundir: "$RUNDIR/$n"
    pidfile: "$RUNDIR/$n/knot.pid"
    listen: [ $2 ]
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: "$FIX_DIR/$n/knotd.log"
    any: info
database:
    storage: "$FIX_DIR/$n/db"
policy:
  - id: fast
    algorithm: ecdsap256sha256
    single-type-signing: on      # one CSK per zone
    manual: on                   # keys are pre-generated with keymgr, never rolled
    dnskey-ttl: 60
    zone-max-ttl: 60
    propagation-delay: 0
    rrsig-lifetime: 14d
    rrsig-refresh: 7d
template:
  - id: default                  # signed zones (knot signs on load and after every update)
    storage: "$FIX_DIR/$n/zones"
    file: "%s.zone"
    dnssec-signing: on
    dnssec-policy: fast
    zonefile-sync: 0             # write every change back at once (survives a knotd restart)
    zonefile-load: difference-no-serial
    journal-content: all
  - id: plain                    # served exactly as in the file (unsigned or pre-signed)
    storage: "$FIX_DIR/$n/zones"
    file: "%s.zone"
    dnssec-signing: off
    zonefile-sync: 0
    zonefile-load: difference-no-serial
    journal-content: all
acl:
  - id: local_update             # lets knsupdate from the test's namespace change records
    address: [ 127.0.0.0/8, $I.0/24, $A.0/24 ]
    action: update
zone:
$3
EOF
}

ds_of() { keymgr -c "$FIX_DIR/$1/knot.conf" "$2" ds | awk '$5==2'; }   # SHA-256 DS only

soa() { # $1 zone-relative primary NS host
  echo "@ SOA $1 hostmaster 1 3600 600 86400 $NEG_TTL"
}

prepare() {
  local t0; t0=$(now_ms)
  rm -rf "$FIX_DIR"; mkdir -p "$FIX_DIR/client"

  local AUTH_LISTEN="" o
  for o in 1 2 3 4 5 6 7 8 10; do AUTH_LISTEN+="${AUTH_LISTEN:+, }$A.$o@53"; done
  knot_conf infra "$I.1@53, $I.2@53" "  - domain: .
    file: root.zone
  - domain: test"
  knot_conf auth "$AUTH_LISTEN" "  - domain: example.test
    acl: local_update
  - domain: insecure.test
    template: plain
    acl: local_update
  - domain: bogus.test
  - domain: expired.test
    template: plain
  - domain: tampered.test
    template: plain
  - domain: nosig.test
    template: plain
  - domain: nods.test
  - domain: second.test
    acl: local_update
  - domain: leaf.test
    acl: local_update"

  # 1. keys for the knot-signed zones (offline, before knotd starts, so DS are known)
  local z
  for z in . test; do keymgr -c "$FIX_DIR/infra/knot.conf" $z generate algorithm=ecdsap256sha256 ksk=yes zsk=yes >/dev/null; done
  for z in example.test bogus.test nods.test second.test leaf.test; do
    keymgr -c "$FIX_DIR/auth/knot.conf" $z generate algorithm=ecdsap256sha256 ksk=yes zsk=yes >/dev/null
  done

  # 2. customer zones
  local Z=$FIX_DIR/auth/zones
  local big="" i
  for i in $(seq -w 0 9); do
    big+="_validation-persist.big TXT \"big-$i-$(printf 'x%.0s' $(seq 1 194))\""$'\n'
  done
  cat > "$Z/example.test.zone" <<EOF
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $A.1
@                      CAA 0 issue "ca.example"
@                      CAA 0 issuewild ";"
_validation-persist    TXT "ca.example; accounturi=https://ca.example/acct/1"
_validation-persist.multi TXT "ca.example; accounturi=https://ca.example/acct/1"
_validation-persist.multi TXT "other-ca.example; accounturi=https://other.example/a/9" "second-string"
_validation-persist.bytes TXT "a\\000b" "" "\\255\\"\\\\;x"
${big}_validation-persist.short 2 TXT "short-ttl v1"
_validation-persist.wild TXT "ca.example; accounturi=https://ca.example/acct/1; policy=wildcard"
_validation-persist.nodata A 127.0.0.1
*.wc                   TXT "wildcard-synthesized"
_validation-persist.cname CNAME _validation-persist.target.second.test.
_validation-persist.chain CNAME hop.second.test.
_validation-persist.tobogus CNAME _validation-persist.bogus.test.
_validation-persist.toinsecure CNAME _validation-persist.insecure.test.
dname                  DNAME second.test.
sub                    A   127.0.0.1
caa                    CAA 128 issue "ca.example; accounturi=https://ca.example/acct/1; validationmethods=dns-persist-01"
caa                    CAA 0 iodef "mailto:security@example.test"
caa                    CAA 0 tbs "Unknown"
caacname               CNAME target.second.test.
EOF
  cat > "$Z/second.test.zone" <<EOF
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $A.8
_validation-persist.target TXT "ca.example; accounturi=https://ca.example/acct/second"
hop                    CNAME _validation-persist.target
target                 CAA 0 issue "second.example"
EOF
  # The leaf record in zone-file presentation form: one quoted string with '\' and '"'
  # escaped (RFC 1035 5.1); anything but printable ASCII up to 255 octets is refused.
  if (( $(printf '%s' "$LEAF_RECORD" | wc -c) > 255 )) ||
     [ "$(printf '%s' "$LEAF_RECORD" | LC_ALL=C tr -d ' -~'; echo .)" != . ]; then
    echo "FIX_LEAF_RECORD: must be printable ASCII, at most 255 octets (one TXT string)" >&2
    return 1
  fi
  local leaf_q=${LEAF_RECORD//\\/\\\\}
  leaf_q=${leaf_q//\"/\\\"}
  {
    echo "\$TTL $TTL"; soa ns1
    echo "@ NS ns1"; echo "ns1 A $A.10"
    echo "*.w TXT \"$leaf_q\""
    # The value comes through the environment: awk -v would interpret backslashes.
    LEAF_Q=$leaf_q awk -v n="$LEAF_NAMES" 'BEGIN { for (i = 0; i < n; i++)
      printf "_validation-persist.t%d TXT \"%s\"\n", i, ENVIRON["LEAF_Q"] }'
  } > "$Z/leaf.test.zone"
  cat > "$Z/insecure.test.zone" <<EOF
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $A.2
@                      CAA 0 issue "ca.example"
_validation-persist    TXT "ca.example; accounturi=https://ca.example/acct/2"
EOF
  for z in bogus:3 nods:6; do
    cat > "$Z/${z%:*}.test.zone" <<EOF
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $A.${z#*:}
@                      CAA 0 issue "ca.example"
_validation-persist    TXT "ca.example; accounturi=https://ca.example/acct/${z%:*}"
EOF
  done
  # pre-signed zones with ldns (expired RRSIGs / record edited after signing / RRSIG stripped)
  local L=$FIX_DIR/ldns; mkdir -p "$L"
  local k_exp k_tam k_nosig
  k_exp=$(cd "$L" && ldns-keygen -a ECDSAP256SHA256 -k expired.test)
  k_tam=$(cd "$L" && ldns-keygen -a ECDSAP256SHA256 -k tampered.test)
  k_nosig=$(cd "$L" && ldns-keygen -a ECDSAP256SHA256 -k nosig.test)
  for z in expired:4 tampered:5 nosig:7; do
    cat > "$L/${z%:*}.test.zone" <<EOF
\$ORIGIN ${z%:*}.test.
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $A.${z#*:}
_validation-persist    TXT "ca.example; accounturi=https://ca.example/acct/${z%:*}"
EOF
  done
  (cd "$L" && ldns-signzone -i 20200101000000 -e 20200201000000 -f "$Z/expired.test.zone" expired.test.zone "$k_exp")
  (cd "$L" && ldns-signzone -f tampered.signed tampered.test.zone "$k_tam")
  sed 's|acct/tampered"|acct/EVIL"|' "$L/tampered.signed" > "$Z/tampered.test.zone"
  grep -q 'acct/EVIL' "$Z/tampered.test.zone" || { echo "tampering failed" >&2; return 1; }
  (cd "$L" && ldns-signzone -f nosig.signed nosig.test.zone "$k_nosig")
  grep -v -P '\tRRSIG\tTXT ' "$L/nosig.signed" > "$Z/nosig.test.zone"

  # 3. TLD zone with delegations + DS
  local DS_BOGUS
  DS_BOGUS=$(ds_of auth bogus.test | awk '{d=$NF; c=substr(d,1,1); c=(c=="0")?"1":"0"; $NF=c substr(d,2); print}')
  cat > "$FIX_DIR/infra/zones/test.zone" <<EOF
\$TTL 3600
test.                  SOA ns1.test. hostmaster.test. 1 3600 600 86400 $NEG_TTL
test.                  NS  ns1.test.
ns1.test.              A   $I.2
example.test.          NS  ns1.example.test.
ns1.example.test.      A   $A.1
$(ds_of auth example.test)
insecure.test.         NS  ns1.insecure.test.
ns1.insecure.test.     A   $A.2
bogus.test.            NS  ns1.bogus.test.
ns1.bogus.test.        A   $A.3
$DS_BOGUS
expired.test.          NS  ns1.expired.test.
ns1.expired.test.      A   $A.4
$(cat "$L/$k_exp.ds")
tampered.test.         NS  ns1.tampered.test.
ns1.tampered.test.     A   $A.5
$(cat "$L/$k_tam.ds")
nosig.test.            NS  ns1.nosig.test.
ns1.nosig.test.        A   $A.7
$(cat "$L/$k_nosig.ds")
nods.test.             NS  ns1.nods.test.
ns1.nods.test.         A   $A.6
second.test.           NS  ns1.second.test.
ns1.second.test.       A   $A.8
$(ds_of auth second.test)
leaf.test.             NS  ns1.leaf.test.
ns1.leaf.test.         A   $A.10
$(ds_of auth leaf.test)
lame.test.             NS  ns1.lame.test.
ns1.lame.test.         A   $A.99
EOF
  # 4. root zone
  cat > "$FIX_DIR/infra/zones/root.zone" <<EOF
\$TTL 86400
.                      SOA ns.root-servers. hostmaster.root-servers. 1 3600 600 86400 $NEG_TTL
.                      NS  ns.root-servers.
ns.root-servers.       A   $I.1
test.                  NS  ns1.test.
ns1.test.              A   $I.2
$(ds_of infra test)
EOF

  # 5. client-side files
  printf '.                    3600000  NS  ns.root-servers.\nns.root-servers.     3600000  A   %s.1\n' "$I" > "$FIX_DIR/client/root.hints"
  ds_of infra . > "$FIX_DIR/client/root.ta"
  keymgr -c "$FIX_DIR/infra/knot.conf" . dnskey > "$FIX_DIR/client/root.dnskey"
  cat > "$FIX_DIR/client/unbound.conf" <<EOF
server:
    do-not-query-localhost: no
    root-hints: "$FIX_DIR/client/root.hints"
    trust-anchor-file: "$FIX_DIR/client/root.ta"
    local-zone: "test." nodefault
    infra-cache-max-rtt: 500
    do-ip6: no
EOF
  # zone -> server, for `update` and the C++ harness
  cat > "$FIX_DIR/client/servers.txt" <<EOF
. $I.1
test $I.2
example.test $A.1
insecure.test $A.2
bogus.test $A.3
expired.test $A.4
tampered.test $A.5
nods.test $A.6
nosig.test $A.7
second.test $A.8
leaf.test $A.10
EOF
  echo "fixture prepared in $FIX_DIR in $(( $(now_ms) - t0 )) ms"
}

# wait_ready INSTANCE...: knotd's control socket answers and every zone of the
# instance answers its SOA (signed zones with an RRSIG, i.e. signing is done).
wait_ready() {
  local deadline=$(( $(now_ms) + ${FIX_WAIT_MS:-60000} )) n w z ip kind out
  for n in "$@"; do
    until knotc -c "$FIX_DIR/$n/knot.conf" -t 1 status >/dev/null 2>&1; do
      if [ -f "$FIX_DIR/$n/pid" ] && ! alive "$(cat "$FIX_DIR/$n/pid")"; then
        echo "knotd $n died:" >&2; tail -5 "$FIX_DIR/$n/knotd.log" "$FIX_DIR/$n/stderr.log" >&2 2>/dev/null; return 1
      fi
      [ "$(now_ms)" -gt "$deadline" ] && { echo "timeout waiting for knotd $n" >&2; return 1; }
      sleep 0.01
    done
    for w in $(wanted "$n"); do
      IFS=: read -r z ip kind <<<"$w"
      while :; do
        out=$("${NSX[@]}" kdig +dnssec +short +timeout=1 +retry=0 @"$ip" SOA "$z" 2>/dev/null || true)
        if [ "$kind" = s ]; then grep -q '^SOA ' <<<"$out" && break; else [ -n "$out" ] && break; fi
        [ "$(now_ms)" -gt "$deadline" ] && { echo "timeout waiting for $z on $ip" >&2; tail -5 "$FIX_DIR/$n/knotd.log" >&2; return 1; }
        sleep 0.02
      done
    done
  done
}

start_knotd() { # $1 instance
  rm -f "$RUNDIR/$1/knot.pid"   # else knotd refuses to start while an old PID is an unreaped zombie
  "${NSX[@]}" knotd -c "$FIX_DIR/$1/knot.conf" >>"$FIX_DIR/$1/stderr.log" 2>&1 &
  echo $! > "$FIX_DIR/$1/pid"
}

start() {
  local t0; t0=$(now_ms)
  stop   # never leave a previous instance running (SO_REUSEPORT would let two knotd share a port)
  prepare
  local t1; t1=$(now_ms)
  start_knotd infra; start_knotd auth
  wait_ready infra auth
  echo "fixture up in $FIX_DIR: prepare $((t1-t0)) ms, knotd start+sign $(( $(now_ms)-t1 )) ms"
}

prepare_attacker() { # forged, UNSIGNED copies of example.test + insecure.test on $ATK
  local D=$FIX_DIR/attacker z
  [ -d "$FIX_DIR/client" ] || { echo "fixture not prepared" >&2; return 1; }
  rm -rf "$D"; mkdir -p "$D/db" "$D/zones" "$RUNDIR/attacker"
  cat > "$D/knot.conf" <<EOF
server:
    rundir: "$RUNDIR/attacker"
    pidfile: "$RUNDIR/attacker/knot.pid"
    listen: $ATK@53
log:
  - target: "$D/knotd.log"
    any: info
database:
    storage: "$D/db"
template:
  - id: default
    storage: "$D/zones"
    file: "%s.zone"
zone:
  - domain: example.test
  - domain: insecure.test
EOF
  for z in example insecure; do
    cat > "$D/zones/$z.test.zone" <<EOF
\$ORIGIN $z.test.
\$TTL $TTL
$(soa ns1)
@                      NS  ns1
ns1                    A   $ATK
_validation-persist    TXT "ca.example; accounturi=https://ca.example/acct/ATTACKER"
EOF
  done
}

stop() {  # SIGTERM all instances at once (knotd needs ~1.5-2 s to exit), SIGKILL after 5 s
  local n pids=()
  for n in attacker auth infra; do
    [ -f "$FIX_DIR/$n/pid" ] || continue
    pids+=("$(cat "$FIX_DIR/$n/pid")"); rm -f "$FIX_DIR/$n/pid"
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 500); do
    local any=0 p; for p in "${pids[@]}"; do alive "$p" && any=1; done
    [ $any = 0 ] && return 0; sleep 0.01
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

status() {
  local n
  for n in infra auth attacker; do
    if [ -f "$FIX_DIR/$n/pid" ] && alive "$(cat "$FIX_DIR/$n/pid")"; then
      echo "$n: running pid $(cat "$FIX_DIR/$n/pid")"; else echo "$n: stopped"; fi
  done
}

update() { # ZONE CMD...
  local zone=$1; shift
  local ip; ip=$(awk -v z="$zone" '$1==z {print $2}' "$FIX_DIR/client/servers.txt")
  [ -n "$ip" ] || { echo "unknown zone $zone" >&2; return 2; }
  { echo "server $ip 53"; echo "zone $zone."; printf '%s\n' "$@"; echo send; } | "${NSX[@]}" knsupdate -t 5
}

case "${1:-}" in
  prepare) prepare ;;
  start) start ;;
  wait) shift; wait_ready "${@:-infra auth}" ;;
  stop) stop ;;
  status) status ;;
  update) shift; update "$@" ;;
  prepare-attacker) prepare_attacker ;;
  start-attacker) prepare_attacker; start_knotd attacker; wait_ready attacker; echo "attacker knotd on $ATK" ;;
  start-instance) start_knotd "$2"; wait_ready "$2" ;;
  stop-instance) # "server down": SIGKILL (instant, like a crash); SIG=TERM for a clean stop (~2 s)
    knotc -c "$FIX_DIR/$2/knot.conf" -b -t 5 zone-flush >/dev/null 2>&1 || true   # keep runtime updates
    pid=$(cat "$FIX_DIR/$2/pid"); kill -"${SIG:-KILL}" "$pid"; while alive "$pid"; do sleep 0.01; done; rm -f "$FIX_DIR/$2/pid" ;;
  *) echo "usage: $0 prepare|start|wait [INSTANCE...]|stop|status|update ZONE CMD...|start-attacker|prepare-attacker|start-instance NAME|stop-instance NAME" >&2; exit 2 ;;
esac
