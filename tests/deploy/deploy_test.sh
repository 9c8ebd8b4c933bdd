#!/usr/bin/env bash
# //deploy:deploy_test - checks everything under deploy/ that can be checked
# without a cluster or a container engine:
#   1. promtool check rules / test rules (every alert fires in a unit test);
#   2. the rules and the dashboard read only metrics the code registers, every
#      alert has summary/description/runbook and its RUNBOOK.md section, the
#      dashboard's queries are valid PromQL (promtool);
#   3. `kubectl kustomize` of every overlay, then policy and wiring checks of
#      the rendered manifests (tests/deploy/check_deploy.py);
#   4. vantage-va / vantage-perspective --check_config on every example config
#      in deploy/config/, with the files they name re-rooted under a temporary
#      directory (test PKI from make_test_pki; Debian's real
#      /usr/share/dns/root.key);
#   5. the Containerfiles install the Debian package of every library the
#      binaries link, run as UID 10001 and carry dns-root-data.
# Needs: promtool (Debian prometheus), kubectl with kustomize v5 on PATH,
# python3-yaml. Prints "N passed, N failed" over the checks.
set -uo pipefail

cd "${TEST_SRCDIR:?run me with bazel test}/vantage" || exit 1
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/deploy.XXXXXX")
export HOME="$tmp/home"  # kubectl may write a cache there
mkdir -p "$HOME"
passed=0
failed=0

# check NAME COMMAND...: runs the command, its output shown on failure.
check() {
  local name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    sed 's/^/     /' "$tmp/out"
  fi
}

finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

missing=()
command -v promtool >/dev/null || missing+=("promtool (Debian package prometheus)")
python3 -c 'import yaml' 2>/dev/null || missing+=("python3-yaml")
[ -s /usr/share/dns/root.key ] || missing+=("/usr/share/dns/root.key (Debian package dns-root-data)")
# kustomize v5 syntax (resources: [directory], patches:, labels:): Debian 12's
# kubernetes-client (kubectl 1.20, kustomize v2.0.3) cannot build it.
# It is not a Debian 12 package we can install, so where it is absent the
# rendering checks (section 3) are reported as skipped, loudly, instead of
# failing every machine without it; everything else is still checked.
kustomize_version=$(kubectl version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\).*/\1/p')
have_kustomize=1
if [ -z "$kustomize_version" ] || [ "$kustomize_version" -lt 5 ]; then
  have_kustomize=0
  echo "SKIPPED: kubectl with kustomize >= v5 not found (found: ${kustomize_version:-none});"
  echo "         the Kubernetes overlays are NOT rendered or checked on this machine (deploy/README.md)"
fi
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "FAIL missing tool: $m"; done
  failed=${#missing[@]}
  finish
fi

# ---- 1. Prometheus rules -------------------------------------------------------
check "promtool check rules" promtool check rules deploy/prometheus/vantage.rules.yml
check "promtool test rules" promtool test rules deploy/prometheus/tests/vantage.rules.test.yml

# ---- 2. metrics, annotations, runbook, dashboard -----------------------------------
check "rules and dashboard read existing metrics; annotations; runbook sections" \
  python3 tests/deploy/check_deploy.py observability deploy/prometheus/vantage.rules.yml \
  deploy/prometheus/tests/vantage.rules.test.yml deploy/grafana/vantage.json deploy/RUNBOOK.md \
  "$tmp/dashboard.rules.yml" va/metrics.cc va/audit_log.cc perspective/service.cc
check "dashboard queries are valid PromQL" promtool check rules "$tmp/dashboard.rules.yml"

# ---- 3. kustomize every overlay, then check what it renders ------------------------
rendered=()
[ "$have_kustomize" = 1 ] && for overlay in deploy/k8s/overlays/*/; do
  overlay=${overlay%/}
  out="$tmp/$(basename "$overlay").yaml"
  check "kubectl kustomize $overlay" \
    kubectl kustomize --load-restrictor=LoadRestrictionsNone "$overlay" -o "$out"
  rendered+=("$overlay=$out")
done
if [ "$have_kustomize" = 1 ]; then
  if [ ${#rendered[@]} -lt 6 ]; then
    echo "FAIL expected the home overlay and at least five perspective overlays"
    failed=$((failed + 1))
  fi
  check "rendered manifests: security, resources, probes, mounts, selectors, wiring" \
    python3 tests/deploy/check_deploy.py manifests "${rendered[@]}"
fi

# ---- 4. --check_config of the example configs ---------------------------------------
# The configs name production paths (/etc/vantage/..., /var/lib/vantage/...):
# each is checked with those prefixes re-rooted under its own directory, in
# which the test PKI stands in for the cert-manager Secrets.
pki="$tmp/pki"
hosts=$(sed -n 's/^ *address: "\([^:"]*\):[0-9]*"$/\1/p' deploy/config/va.textproto | paste -sd, -)
check "make_test_pki" tests/pki/make_test_pki --out="$pki" \
  --servers="vantage-va.vantage.svc,$hosts" --clients=va.vantage.internal,ra.ca.internal

# reroot CONFIG ROOT: the config with its production path prefixes under ROOT.
reroot() {
  sed -e "s#\"/etc/vantage/#\"$2/etc/vantage/#g" -e "s#\"/var/lib/vantage/#\"$2/var/lib/vantage/#g" "$1"
}
# tls_dir DIR CERT_BASENAME: a cert-manager-like Secret directory.
tls_dir() {
  mkdir -p "$1" && cp "$pki/$2.pem" "$1/tls.crt" && cp "$pki/$2.key" "$1/tls.key" &&
    cp "$pki/ca.pem" "$1/ca.crt"
}

check_va() {
  local root="$tmp/root-va"
  tls_dir "$root/etc/vantage/tls/server" server-vantage-va.vantage.svc &&
    tls_dir "$root/etc/vantage/tls/client" client-va.vantage.internal &&
    mkdir -p "$root/var/lib/vantage/audit" &&
    reroot deploy/config/va.textproto "$root" >"$root/va.textproto" || return 1
  if grep -q '"/etc/vantage\|"/var/lib/vantage' "$root/va.textproto"; then
    echo "a production path was not re-rooted"; return 1
  fi
  # As the StatefulSet runs it: the account store URI comes from --accounts.
  va/vantage-va --check_config --config="$root/va.textproto" \
    --accounts='postgresql://vantage_va@accounts-replica.db.internal:5432/acme?sslmode=verify-full&sslrootcert=/etc/vantage/db/ca.crt' \
    >"$tmp/va.out" || { cat "$tmp/va.out"; return 1; }
  cat "$tmp/va.out"
  grep -q '^config OK: va va-eu-central ' "$tmp/va.out"
}
check "vantage-va --check_config deploy/config/va.textproto" check_va

for config in deploy/config/perspective-*.textproto; do
  region=$(basename "$config" .textproto)
  region=${region#perspective-}
  check_perspective() {
    local root="$tmp/root-$region"
    tls_dir "$root/etc/vantage/tls/server" "server-perspective-$region.vantage.internal" &&
      reroot "$config" "$root" >"$root/perspective.textproto" || return 1
    if grep -q '"/etc/vantage\|"/var/lib/vantage' "$root/perspective.textproto"; then
      echo "a production path was not re-rooted"; return 1
    fi
    perspective/vantage-perspective --check_config --config="$root/perspective.textproto" \
      >"$tmp/p.out" || { cat "$tmp/p.out"; return 1; }
    cat "$tmp/p.out"
    grep -q "^config OK: perspective $region " "$tmp/p.out"
  }
  check "vantage-perspective --check_config $config" check_perspective
done

# ---- 5. Containerfiles vs the binaries (the images cannot be built here) -------------
# Every library the binary links directly (DT_NEEDED), mapped to its Debian
# package, is installed by the Containerfile (libc6, libgcc-s1 and libstdc++6
# are in debian:12-slim); the image runs as the manifests' UID 10001 and
# carries the trust anchor.
# installed PKG CONTAINERFILE: PKG is a line of the apt-get install list.
installed() {
  sed -e 's/^[[:space:]]*//' -e 's/[[:space:]\\]*$//' "$2" | grep -qxF "$1"
}
check_image() {
  local binary=$1 containerfile=$2 ok=0 so file real pkg
  local -A file_of=()
  local candidates=()
  for so in $(objdump -p "$binary" | awk '/NEEDED/ {print $2}'); do
    case "$so" in
      libc.so.* | libm.so.* | ld-linux-* | libgcc_s.so.* | libstdc++.so.*) continue ;;
      libasan.so.* | libubsan.so.* | liblsan.so.* | libtsan.so.*) continue ;;  # --config=asan
    esac
    file=$(ldd "$binary" | awk -v so="$so" '$1 == so {print $3}')
    [ -n "$file" ] || { echo "$binary: $so not found"; ok=1; continue; }
    file_of[$so]=$file
    # Merged /usr: dpkg may know the file under /lib or /usr/lib.
    real=$(readlink -f "$file")
    candidates+=("$file" "$real" "${real#/usr}")
  done
  # One dpkg query for every library ("package[:arch]: path" lines).
  dpkg -S "${candidates[@]}" 2>/dev/null | sed 's/:[a-z0-9]*:/:/' >"$tmp/dpkg.out"
  for so in "${!file_of[@]}"; do
    file=${file_of[$so]}
    real=$(readlink -f "$file")
    pkg=$(awk -F': ' -v a="$file" -v b="$real" -v c="${real#/usr}" \
      '$2 == a || $2 == b || $2 == c {print $1; exit}' "$tmp/dpkg.out")
    if [ -z "$pkg" ]; then
      echo "$so ($file) belongs to no Debian package"; ok=1
    elif ! installed "$pkg" "$containerfile"; then
      echo "$containerfile does not install $pkg (for $so)"; ok=1
    fi
  done
  installed dns-root-data "$containerfile" || { echo "no dns-root-data"; ok=1; }
  grep -q '^USER 10001:10001$' "$containerfile" || { echo "not USER 10001:10001"; ok=1; }
  grep -q "^COPY .*$(basename "$binary") /usr/local/bin/$(basename "$binary")$" "$containerfile" ||
    { echo "does not copy $(basename "$binary")"; ok=1; }
  return $ok
}
check "deploy/images/va.Containerfile installs what vantage-va links" \
  check_image va/vantage-va deploy/images/va.Containerfile
check "deploy/images/perspective.Containerfile installs what vantage-perspective links" \
  check_image perspective/vantage-perspective deploy/images/perspective.Containerfile

finish
