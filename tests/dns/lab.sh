#!/usr/bin/env bash
# lab.sh - the "regions" lab for demos (run as root): an "inet" namespace hosting
# the DNS fixture (tests/dns/fixture.sh) on 10.53.x.y, and N region namespaces
# joined to it by veth pairs. The VA and its primary perspective run in inet
# (`lab.sh inet CMD`); remote perspectives run in regions (`lab.sh exec K CMD`)
# and are reached from inet at 10.99.K.2. Tests use the C++ twin of this script,
# //tests/harness:lab (tests/harness/lab.h), inside their own private namespace.
#
#   lab.sh up [N]               inet + regions 1..N + fixture + attacker (default N=3)
#   lab.sh down                 stop everything, delete the namespaces
#   lab.sh inet CMD...          run CMD in the inet namespace
#   lab.sh exec K CMD...        run CMD in region K
#   lab.sh partition K on|off   drop region K's DNS at the servers (real timeouts)
#   lab.sh isolate K on|off     drop everything on region K's link
#   lab.sh forge K on|off       DNAT region K's customer-zone DNS to the attacker knotd
#   lab.sh up-tun K             add region K joined by a TUN pair + tunwire.py
#                               (user-space delay/loss: this kernel has no netem)
#   lab.sh wire K "delay_ms=25 jitter_ms=5 loss=0.1 down=0"   impair a TUN region
#
# Addresses (only inside these namespaces): inet 10.53.0.0/16 local on lo (root/TLD
# 10.53.0.1/.2, customer zones 10.53.1.1-.10, attacker 10.53.9.1), veth/tun 10.99.K.1,
# region K eth0 10.99.K.2 (default route via 10.99.K.1).
# Environment: LAB_PREFIX (default vdns), LAB_DIR (default ${TMPDIR:-/tmp}/vantage-lab),
# FIX_LEAF_NAMES (passed to the fixture).
set -euo pipefail
PFX=${LAB_PREFIX:-vdns}
LAB_DIR=${LAB_DIR:-${TMPDIR:-/tmp}/vantage-lab}
HERE=$(cd "$(dirname "$0")" && pwd)
INET=$PFX-inet
PATH=$PATH:/usr/sbin:/sbin
export FIX_DIR=$LAB_DIR/dns FIX_NETNS=$INET FIX_INFRA_IP4=10.53.0 FIX_AUTH_IP4=10.53.1 FIX_ATTACKER_IP4=10.53.9.1

inet() {
  ip netns list | grep -qw "$INET" && return 0
  ip netns add "$INET"
  ip -n "$INET" link set lo up
  ip -n "$INET" route add local 10.53.0.0/16 dev lo
}
region() { # K
  local k=$1
  ip netns add "$PFX-r$k"
  ip -n "$PFX-r$k" link set lo up
  ip -n "$INET" link add "veth-r$k" type veth peer name eth0 netns "$PFX-r$k"
  ip -n "$INET" addr add "10.99.$k.1/24" dev "veth-r$k"
  ip -n "$INET" link set "veth-r$k" up
  ip -n "$PFX-r$k" addr add "10.99.$k.2/24" dev eth0
  ip -n "$PFX-r$k" link set eth0 up
  ip -n "$PFX-r$k" route add default via "10.99.$k.1"
}
up() {
  local n=${1:-3} k
  mkdir -p "$LAB_DIR"
  inet
  for k in $(seq 1 "$n"); do region "$k"; done
  "$HERE/fixture.sh" start
  "$HERE/fixture.sh" start-attacker
  echo "lab up: inet=$INET regions=$(seq -s' ' -f "$PFX-r%g" 1 "$n")"
  echo "resolver files: $FIX_DIR/client/{root.hints,root.ta,unbound.conf}"
}
up_tun() {
  local k=$1
  inet; mkdir -p "$LAB_DIR"
  ip netns add "$PFX-r$k"
  ip -n "$PFX-r$k" link set lo up
  ip -n "$PFX-r$k" tuntap add dev eth0 mode tun
  ip -n "$INET" tuntap add dev "tun-r$k" mode tun
  ip -n "$PFX-r$k" addr add "10.99.$k.2" peer "10.99.$k.1" dev eth0
  ip -n "$PFX-r$k" link set eth0 up
  ip -n "$PFX-r$k" route add default dev eth0
  ip -n "$INET" addr add "10.99.$k.1" peer "10.99.$k.2" dev "tun-r$k"
  ip -n "$INET" link set "tun-r$k" up
  : > "$LAB_DIR/wire-r$k.ctl"
  python3 "$HERE/tunwire.py" "$PFX-r$k" eth0 "$INET" "tun-r$k" "$LAB_DIR/wire-r$k.ctl" \
    2>"$LAB_DIR/wire-r$k.log" &
  echo $! > "$LAB_DIR/wire-r$k.pid"
}
wire() { # atomically replace the control file (tunwire re-reads it on mtime change)
  printf '%s\n' "$2" > "$LAB_DIR/wire-r$1.ctl.tmp" && mv "$LAB_DIR/wire-r$1.ctl.tmp" "$LAB_DIR/wire-r$1.ctl"
}
down() {
  local ns f
  "$HERE/fixture.sh" stop || true
  for f in "$LAB_DIR"/wire-r*.pid; do
    [ -f "$f" ] || continue; kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"
  done
  for ns in $(ip netns list | awk '{print $1}' | grep -E "^$PFX-(inet|r[0-9]+)$" || true); do
    ip netns del "$ns"
  done
}
nft_in() { # NS TABLE-SPEC RULES...: (re)create one nft table, or delete it when RULES is empty
  local ns=$1 family_table=$2; shift 2
  { echo "add table $family_table"; echo "delete table $family_table"
    [ $# -gt 0 ] && printf '%s\n' "table $family_table {" "$@" "}"; } | ip netns exec "$ns" nft -f -
}
onoff() { case "$1" in on) return 0 ;; off) return 1 ;; *) echo "on|off, got $1" >&2; exit 2 ;; esac; }

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  inet) shift; exec ip netns exec "$INET" "$@" ;;
  exec) k=$2; shift 2; exec ip netns exec "$PFX-r$k" "$@" ;;
  partition)
    if onoff "$3"; then
      nft_in "$INET" "inet partition_r$2" "chain in { type filter hook input priority 0;" \
        "ip saddr 10.99.$2.0/24 ip daddr 10.53.0.0/16 meta l4proto { udp, tcp } th dport 53 drop; }"
    else nft_in "$INET" "inet partition_r$2"; fi ;;
  isolate)
    if onoff "$3"; then
      nft_in "$INET" "inet isolate_r$2" "chain in { type filter hook input priority 0; iifname \"veth-r$2\" drop; }" \
        "chain out { type filter hook output priority 0; oifname \"veth-r$2\" drop; }"
    else nft_in "$INET" "inet isolate_r$2"; fi ;;
  forge)
    if onoff "$3"; then
      nft_in "$PFX-r$2" "ip forge" "chain out { type nat hook output priority -100;" \
        "ip daddr 10.53.1.0/24 meta l4proto { udp, tcp } th dport 53 dnat to 10.53.9.1; }"
    else nft_in "$PFX-r$2" "ip forge"; fi ;;
  up-tun) up_tun "$2" ;;
  wire) wire "$2" "$3" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
