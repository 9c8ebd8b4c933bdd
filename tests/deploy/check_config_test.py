#!/usr/bin/env python3
"""--check_config of vantage-va and vantage-perspective, run as binaries.

Table-driven: each row writes a config (a good one with one change), runs
`<binary> --check_config --config=FILE [flags]` and checks the exit code
(0 OK, 2 problems) and what it printed. The configs name a throw-away PKI
(//tests/pki:make_test_pki) and Debian's /usr/share/dns/root.key.

"Starts nothing" is checked, not assumed: the configs' listen and metrics
ports are held open by this test (a start would fail to bind: the control
rows prove it), and the SQLite store and audit file the VA would create must
still be absent afterwards. Every address is on loopback; --check_config
contacts nothing.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile

RUNFILES = os.path.join(os.environ.get("TEST_SRCDIR", "."), "vantage")
VA = os.path.join(RUNFILES, "va/vantage-va")
PERSPECTIVE = os.path.join(RUNFILES, "perspective/vantage-perspective")
MAKE_PKI = os.path.join(RUNFILES, "tests/pki/make_test_pki")
TRUST_ANCHOR = "/usr/share/dns/root.key"  # Debian dns-root-data


def held_port():
    """A loopback port this test keeps listening on."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.pki = os.path.join(tmp, "pki")
        subprocess.run([MAKE_PKI, "--out=" + self.pki,
                        "--servers=perspective.vantage.test,va.vantage.test",
                        "--clients=va.vantage.test,ra.vantage.test"],
                       check=True, stdout=subprocess.DEVNULL)
        self.sockets = []
        self.ports = []
        for _ in range(2):
            s, port = held_port()
            self.sockets.append(s)
            self.ports.append(port)
        # A file that is not PEM, and a trust anchor without DS/DNSKEY.
        self.not_pem = os.path.join(tmp, "not-pem.txt")
        with open(self.not_pem, "w") as f:
            f.write("not a certificate\n")
        self.empty_anchor = os.path.join(tmp, "no-keys.key")
        with open(self.empty_anchor, "w") as f:
            f.write("; only a comment\n")

    def f(self, name):
        return os.path.join(self.pki, name)


def perspective_config(env, case_dir, change):
    fields = {
        "id": '"t1"',
        "rir": "RIR_ARIN",
        "region": '"test-1"',
        "listen_address": '"127.0.0.1:%d"' % env.ports[0],
        "resolver": '{ trust_anchor_file: "%s" }' % TRUST_ANCHOR,
        "tls": ('{ cert_file: "%s" key_file: "%s" client_ca_file: "%s" '
                'allowed_client_names: "va.vantage.test" }' %
                (env.f("server-perspective.vantage.test.pem"),
                 env.f("server-perspective.vantage.test.key"), env.f("ca.pem"))),
        "metrics_address": '"127.0.0.1:%d"' % env.ports[1],
    }
    return change(fields, env, case_dir) or fields


def va_config(env, case_dir, change):
    def remote(i, rir):
        return ('{ id: "r%d" rir: %s address: "127.0.0.1:%d" tls { cert_file: "%s" '
                'key_file: "%s" ca_file: "%s" server_name: "perspective.vantage.test" } }' %
                (i, rir, env.ports[0], env.f("client-va.vantage.test.pem"),
                 env.f("client-va.vantage.test.key"), env.f("ca.pem")))
    os.makedirs(os.path.join(case_dir, "audit"), exist_ok=True)
    store = os.path.join(case_dir, "accounts.db")
    open(store, "w").close()
    fields = {
        "id": '"va-test"',
        "listen_address": '"127.0.0.1:%d"' % env.ports[0],
        "tls": ('{ cert_file: "%s" key_file: "%s" client_ca_file: "%s" '
                'allowed_client_names: "ra.vantage.test" }' %
                (env.f("server-va.vantage.test.pem"), env.f("server-va.vantage.test.key"),
                 env.f("ca.pem"))),
        "issuer_domain_names": '"ca.example"',
        "account_hash_prefix": '"https://ca.example/account-hash/"',
        "primary_id": '"primary"',
        "primary_rir": "RIR_RIPE",
        "primary_resolver": '{ trust_anchor_file: "%s" }' % TRUST_ANCHOR,
        "remotes": [remote(1, "RIR_ARIN"), remote(2, "RIR_RIPE"), remote(3, "RIR_APNIC"),
                    remote(4, "RIR_LACNIC"), remote(5, "RIR_AFRINIC")],
        "account_store": '"sqlite:%s"' % store,
        "audit": '{ path: "%s" }' % os.path.join(case_dir, "audit", "audit.jsonl"),
        "metrics_address": '"127.0.0.1:%d"' % env.ports[1],
    }
    return change(fields, env, case_dir) or fields


def render(fields):
    lines = []
    for name, value in fields.items():
        if value is None:
            continue
        for v in value if isinstance(value, list) else [value]:
            lines.append("%s%s %s" % (name, "" if v.startswith("{") else ":", v))
    return "\n".join(lines) + "\n"


def keep(fields, env, case_dir):
    return fields


def set_(**changes):
    def change(fields, env, case_dir):
        for k, v in changes.items():
            fields[k] = v(env, case_dir) if callable(v) else v
        return fields
    return change


def remote_tls(field, path_fn):
    """Replaces one file of remotes[0].tls."""
    def change(fields, env, case_dir):
        first = fields["remotes"][0]
        start = first.index(field + ': "') + len(field) + 3
        end = first.index('"', start)
        fields["remotes"][0] = first[:start] + path_fn(env) + first[end:]
        return fields
    return change


def both(*changes):
    def change(fields, env, case_dir):
        for c in changes:
            fields = c(fields, env, case_dir) or fields
        return fields
    return change


def no_file(*names):
    """Post-condition: the files a start would create do not exist."""
    def check(case_dir):
        return [n for n in names if os.path.exists(os.path.join(case_dir, n))]
    return check


# name, binary, config, change, extra flags, check_config?, exit, wanted output,
# post-check[, unwanted output]
CASES = [
    ("perspective_good", PERSPECTIVE, perspective_config, keep, [], True, 0,
     ["config OK: perspective t1 (RIR_ARIN, region test-1)", "mTLS, clients va.vantage.test",
      "trust anchor " + TRUST_ANCHOR], None),
    # Control: the same config really started cannot bind the held port, so
    # the row above shows that --check_config did not try to listen.
    ("perspective_control_start_fails_on_held_port", PERSPECTIVE, perspective_config, keep, [],
     False, 1, ["cannot listen on 127.0.0.1:"], None),
    ("perspective_missing_cert", PERSPECTIVE, perspective_config,
     set_(tls=lambda env, d: '{ cert_file: "%s/missing.pem" key_file: "%s" client_ca_file: "%s" '
                             'allowed_client_names: "va.vantage.test" }' %
                             (d, env.f("server-perspective.vantage.test.key"), env.f("ca.pem"))),
     [], True, 2, ["tls.cert_file:", "missing.pem"], None),
    ("perspective_key_of_another_certificate", PERSPECTIVE, perspective_config,
     set_(tls=lambda env, d: '{ cert_file: "%s" key_file: "%s" client_ca_file: "%s" '
                             'allowed_client_names: "va.vantage.test" }' %
                             (env.f("server-perspective.vantage.test.pem"),
                              env.f("server-va.vantage.test.key"), env.f("ca.pem"))),
     [], True, 2, ["tls.key_file:"], None),
    ("perspective_client_ca_not_pem", PERSPECTIVE, perspective_config,
     set_(tls=lambda env, d: '{ cert_file: "%s" key_file: "%s" client_ca_file: "%s" '
                             'allowed_client_names: "va.vantage.test" }' %
                             (env.f("server-perspective.vantage.test.pem"),
                              env.f("server-perspective.vantage.test.key"), env.not_pem)),
     [], True, 2, ["tls.client_ca_file:"], None),
    ("perspective_trust_anchor_without_keys", PERSPECTIVE, perspective_config,
     set_(resolver=lambda env, d: '{ trust_anchor_file: "%s" }' % env.empty_anchor),
     [], True, 2, ["resolver.trust_anchor_file: no DS or DNSKEY record"], None),
    ("perspective_every_problem_at_once", PERSPECTIVE, perspective_config,
     set_(rir=None, id='"Bad_Id"', resolver="{ }"),
     [], True, 2, ["3 problems", "rir: required", 'id: "Bad_Id"', "resolver.trust_anchor_file: required"],
     None),
    ("perspective_insecure_on_wildcard_address", PERSPECTIVE, perspective_config,
     set_(listen_address='"0.0.0.0:8443"'), ["--insecure"], True, 2, ["tls.insecure_plaintext"], None),
    ("perspective_not_textproto", PERSPECTIVE, perspective_config,
     set_(id='"t1" this is not textproto'), [], True, 2, ["perspective.textproto"], None),

    ("va_good_sqlite", VA, va_config, keep, [], True, 0,
     ["config OK: va va-test", "mTLS, clients ra.vantage.test", "primary primary/RIR_RIPE",
      "5 remotes [r1/RIR_ARIN@127.0.0.1:", "BR 3.2.2.9 requires", "account store sqlite:",
      "(FSYNC_EVERY_RECORD)"],
     no_file("audit/audit.jsonl")),
    ("va_control_start_fails_on_held_port", VA, va_config, keep, [], False, 1,
     ["cannot listen on 127.0.0.1:"], None),
    ("va_good_postgres_not_contacted", VA, va_config, keep,
     ["--accounts=postgresql://vantage_va:secret@db.invalid:5432/acme?sslmode=verify-full"], True,
     0, ["account store postgresql://vantage_va:REDACTED@db.invalid"], no_file("audit/audit.jsonl")),
    ("va_sqlite_store_missing_is_not_created", VA, va_config,
     set_(account_store=lambda env, d: '"sqlite:%s/missing.db"' % d), [], True, 2,
     ["account_store: SQLite file", "missing.db does not exist"], no_file("missing.db")),
    ("va_unknown_store_scheme", VA, va_config, keep, ["--accounts=mysql://db/acme"], True, 2,
     ["account_store:", "unknown scheme"], None),
    ("va_audit_directory_missing", VA, va_config,
     set_(audit=lambda env, d: '{ path: "%s/nodir/audit.jsonl" }' % d), [], True, 2,
     ["audit.path: directory", "nodir does not exist"], no_file("nodir")),
    ("va_remote_client_key_of_another_certificate", VA, va_config,
     remote_tls("key_file", lambda env: env.f("client-ra.vantage.test.key")), [], True, 2,
     ["remotes[0].tls.key_file:"], None),
    ("va_remote_ca_not_pem", VA, va_config,
     remote_tls("ca_file", lambda env: env.not_pem), [], True, 2,
     ["remotes[0].tls.ca_file: no PEM certificate"], None),
    # Reported once, by the load a start runs, not again by the extra checks.
    ("va_remote_client_cert_missing", VA, va_config,
     remote_tls("cert_file", lambda env: env.tmp + "/missing-client.pem"), [], True, 2,
     ["remotes[0].tls.cert_file:", "missing-client.pem"], None, ["found by --check_config"]),
    ("va_too_few_remotes_for_br_3_2_2_9", VA, va_config,
     lambda fields, env, d: dict(fields, remotes=fields["remotes"][:1]), [], True, 2,
     ["remotes: 1 configured, BR 3.2.2.9 requires at least"], None),
    ("va_every_problem_at_once", VA, va_config,
     both(set_(issuer_domain_names='"CA.Example"', account_hash_prefix=None),
          remote_tls("ca_file", lambda env: env.tmp + "/missing-ca.pem")),
     [], True, 2, ["issuer_domain_names[0]:", "account_hash_prefix: required",
                   "remotes[0].tls.ca_file:"], None),
    # Problems of the load and of the start-up checks, all in one run.
    ("va_every_problem_at_once_with_startup_checks", VA, va_config,
     both(set_(issuer_domain_names='"CA.Example"',
               account_store=lambda env, d: '"sqlite:%s/missing.db"' % d),
          remote_tls("key_file", lambda env: env.f("client-ra.vantage.test.key"))),
     [], True, 2, ["issuer_domain_names[0]:", "2 problems more found by --check_config",
                   "account_store: SQLite file", "remotes[0].tls.key_file:"], None),
    ("va_insecure_with_wildcard_address", VA, va_config,
     set_(listen_address='"0.0.0.0:8443"'), ["--insecure"], True, 2, ["tls.insecure_plaintext"],
     None),
]


def run_case(env, case):
    name, binary, make, change, flags, check, want_exit, wants, post = case[:9]
    unwanted = case[9] if len(case) > 9 else []
    case_dir = os.path.join(env.tmp, name)
    os.makedirs(case_dir)
    config = os.path.join(case_dir, ("va" if binary == VA else "perspective") + ".textproto")
    with open(config, "w") as f:
        f.write(render(make(env, case_dir, change)))
    cmd = [binary, "--config=" + config] + flags + (["--check_config"] if check else [])
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return ["did not exit within 30 s (did it start serving?)"]
    out = proc.stdout.decode() + proc.stderr.decode()
    errors = []
    if proc.returncode != want_exit:
        errors.append("exit %d, want %d" % (proc.returncode, want_exit))
    for want in wants:
        if want not in out:
            errors.append("output lacks %r" % want)
    for bad in unwanted:
        if bad in out:
            errors.append("output has %r" % bad)
    if check and want_exit == 0 and not proc.stdout.decode().startswith("config OK: "):
        errors.append("stdout does not start with 'config OK: '")
    if check and want_exit == 2 and proc.stdout:
        errors.append("problems must go to stderr, stdout has %r" % proc.stdout.decode())
    if post is not None:
        for created in post(case_dir):
            errors.append("%s was created: --check_config must start nothing" % created)
    if errors:
        errors.append("command: %s\n--- config:\n%s--- output:\n%s" %
                      (" ".join(cmd), open(config).read(), out))
    return errors


def main():
    for path in (VA, PERSPECTIVE, MAKE_PKI, TRUST_ANCHOR):
        if not os.path.exists(path):
            print("missing %s (Debian dns-root-data provides %s)" % (path, TRUST_ANCHOR))
            print("0 passed, 1 failed")
            return 1
    tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
    passed = failed = 0
    try:
        env = Env(tmp)
        for case in CASES:
            errors = run_case(env, case)
            if errors:
                failed += 1
                print("FAIL %s\n  %s" % (case[0], "\n  ".join(errors)))
            else:
                passed += 1
                print("ok   %s" % case[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
