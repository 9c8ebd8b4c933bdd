#!/usr/bin/env python3
"""Checks of deploy/ that need more than promtool and kustomize.

  check_deploy.py observability RULES RULES_TEST DASHBOARD RUNBOOK OUT_RULES SRC...
      Every metric the rules and the dashboard read is registered by the code
      (SRC: the C++ files that register metrics) or recorded by a rule; every
      alert has summary/description/runbook annotations, its runbook section
      exists, and the promtool unit tests make it fire at least once. Writes
      the dashboard's queries as a rule file OUT_RULES for `promtool check
      rules` (PromQL syntax).
  check_deploy.py manifests OVERLAY=RENDERED.yaml...
      Policy checks of every rendered overlay (security context, resources,
      probes, mounts vs the paths the configs name, selectors, network
      policies, certificates) and the cross-region wiring (perspective ids,
      RIRs, addresses, certificate names, client names).

Prints one line per problem and exits 1 when there is any.
"""
import json
import re
import sys

import yaml

PROBLEMS = []


def problem(msg):
    if msg not in PROBLEMS:
        PROBLEMS.append(msg)


# ---- textproto (our own config files only: fields, strings, enums, blocks) --

TOKEN = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|([A-Za-z_][\w.]*|-?\d[\w.]*)|([{}:\[\],<>]))')


def parse_textproto(text):
    """Returns {field: [values]}; blocks are nested dicts."""
    tokens = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError("textproto: cannot parse at %r" % text[pos:pos + 30])
        pos = m.end()
        if m.group(1):
            continue
        tokens.append(m.group(2) or m.group(3) or m.group(4))

    def block(i, closing):
        out = {}
        while i < len(tokens):
            t = tokens[i]
            if t == closing:
                return out, i + 1
            name = t
            i += 1
            if tokens[i] == ":":
                i += 1
            if tokens[i] == "{":
                value, i = block(i + 1, "}")
            else:
                value = tokens[i]
                value = json.loads(value) if value.startswith('"') else value
                i += 1
            out.setdefault(name, []).append(value)
        if closing is not None:
            raise ValueError("textproto: missing " + closing)
        return out, i

    return block(0, None)[0]


def one(msg, field, default=None):
    values = msg.get(field, [])
    return values[0] if values else default


def file_paths(msg, prefix=""):
    """Every (field path, value) of a *_file or audit path field."""
    out = []
    for name, values in msg.items():
        for v in values:
            path = "%s%s" % (prefix, name)
            if isinstance(v, dict):
                out += file_paths(v, path + ".")
            elif name.endswith("_file") or path == "audit.path":
                out.append((path, v))
    return out


def seconds(msg, field):
    d = one(msg, field)
    return int(one(d, "seconds", "0")) if d else None


# ---- observability -------------------------------------------------------------

METRIC = re.compile(r"\b(vantage_[a-z0-9_]+|[a-z_]+:vantage_[a-z0-9_]+:[a-z0-9_]+)\b")
# Metrics the rules may read that Vantage does not export: Prometheus'
# own scrape health and kube-state-metrics' pod readiness.
EXTERNAL = {"up", "kube_pod_status_ready"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def registered_metrics(sources):
    names = set()
    for src in sources:
        found = re.findall(r'\.Name\("(vantage_[a-z0-9_]+)"\)', open(src).read())
        if not found:
            problem("%s: registers no metric (was it renamed? update the test's sources)" % src)
        names.update(found)
    return names


def known(name, registered, recorded):
    if name in recorded or name in registered:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in registered:
            return True
    return False


def github_anchor(heading):
    anchor = heading.strip().lower()
    anchor = re.sub(r"[^\w\- ]", "", anchor)
    return anchor.replace(" ", "-")


def check_observability(rules_file, test_file, dashboard_file, runbook_file, out_rules, sources):
    registered = registered_metrics(sources)
    rules = yaml.safe_load(open(rules_file))
    recorded = set()
    alerts = []
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "record" in rule:
                recorded.add(rule["record"])
            else:
                alerts.append(rule)
    anchors = {github_anchor(line[3:]) for line in open(runbook_file) if line.startswith("## ")}

    for group in rules["groups"]:
        for rule in group["rules"]:
            what = rule.get("alert") or rule.get("record")
            for name in METRIC.findall(rule["expr"]):
                if not known(name, registered, recorded):
                    problem("rules: %s reads %s, which no code registers" % (what, name))
            for name in re.findall(r"\b([a-z_]+)\{", rule["expr"]):
                if not name.startswith("vantage") and name not in EXTERNAL and ":" not in name:
                    problem("rules: %s reads %s, which is neither Vantage's nor known" % (what, name))
    for alert in alerts:
        name = alert["alert"]
        ann = alert.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            if not ann.get(key):
                problem("rules: alert %s has no %s annotation" % (name, key))
        runbook = ann.get("runbook", "")
        if not runbook.startswith("deploy/RUNBOOK.md#"):
            problem("rules: alert %s: runbook %r is not a deploy/RUNBOOK.md section" % (name, runbook))
        elif runbook.split("#", 1)[1] not in anchors:
            problem("rules: alert %s: deploy/RUNBOOK.md has no section #%s" % (name, runbook.split("#", 1)[1]))
        if alert.get("labels", {}).get("severity") not in ("critical", "warning"):
            problem("rules: alert %s: severity must be critical or warning" % name)

    # Every alert fires in at least one promtool test case.
    tests = yaml.safe_load(open(test_file))
    fired = set()
    for case in tests["tests"]:
        for t in case.get("alert_rule_test", []):
            if t.get("exp_alerts"):
                fired.add(t.get("alertname"))
    for alert in alerts:
        if alert["alert"] not in fired:
            problem("rules test: no test case makes %s fire" % alert["alert"])

    # The dashboard: parses, reads only existing metrics; its queries become
    # a rule file for promtool's PromQL check (Grafana variables replaced).
    dash = json.load(open(dashboard_file))
    exprs = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((p.get("title", "?"), t["expr"]))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            exprs.append(("variable " + v["name"], v["definition"]))
    if len(exprs) < 10:
        problem("dashboard: only %d queries" % len(exprs))
    covered = set()
    out = {"groups": [{"name": "dashboard", "rules": []}]}
    for i, (title, expr) in enumerate(exprs):
        names = METRIC.findall(expr)
        for name in names:
            if not known(name, registered, recorded):
                problem("dashboard: panel %r reads %s, which no code registers" % (title, name))
            covered.add(re.sub(r"_(bucket|count|sum)$", "", name))
        m = re.match(r"label_values\((.*), *\w+\)$", expr)
        promql = m.group(1) if m else expr
        promql = (promql.replace("$__rate_interval", "5m")
                  .replace("$perspective", ".*").replace("$agent", ".*"))
        if "$" in promql:
            problem("dashboard: panel %r uses an unknown variable: %s" % (title, expr))
        out["groups"][0]["rules"].append({"record": "dashboard:query_%d" % i, "expr": promql})
    # The brief's panels: outcomes, latency, quorum, per-perspective answers
    # and latency, DNSSEC states, store latency/errors, audit.
    for metric in ("vantage_va_validations_total", "vantage_va_validation_duration_seconds",
                   "vantage_va_quorum_failures_total", "vantage_va_perspective_answers_total",
                   "vantage_va_perspective_duration_seconds", "vantage_perspective_lookups_total",
                   "vantage_va_account_store_duration_seconds",
                   "vantage_va_account_store_errors_total",
                   "vantage_va_audit_write_failures_total"):
        if metric not in covered:
            problem("dashboard: no panel shows %s" % metric)
    with open(out_rules, "w") as f:
        yaml.safe_dump(out, f)


# ---- manifests -------------------------------------------------------------------

TLS_KEYS = {"tls.crt", "tls.key", "ca.crt"}
# Secrets made outside the repository (credentials), documented in deploy/README.md.
EXTERNAL_SECRETS = {"vantage-va-accounts"}
IMAGE_FILES = {"/usr/share/dns/root.key"}  # dns-root-data in the image
PLACEHOLDER_CIDR = "192.0.2.0/24"


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def check_workload(overlay, where, w, objects, configs):
    spec = w["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels", {})
    if not selects(spec["selector"], labels):
        problem("%s: selector does not match the pod template's labels" % where)
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser", 0) == 0:
        problem("%s: pod securityContext must run as a non-root user" % where)
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem("%s: pod seccompProfile must be RuntimeDefault" % where)
    if pod.get("automountServiceAccountToken") is not False:
        problem("%s: automountServiceAccountToken must be false (no API access)" % where)
    if pod.get("hostNetwork") or pod.get("hostPID") or pod.get("hostIPC"):
        problem("%s: host namespaces are not allowed" % where)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for t in spec.get("volumeClaimTemplates", []):
        volumes[t["metadata"]["name"]] = {"name": t["metadata"]["name"], "persistentVolumeClaim": {}}
    cert_secrets = {o["spec"]["secretName"] for o in objects if o["kind"] == "Certificate"}
    configmaps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}

    for c in pod["containers"]:
        cw = "%s container %s" % (where, c["name"])
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            problem("%s: allowPrivilegeEscalation must be false" % cw)
        if sc.get("readOnlyRootFilesystem") is not True:
            problem("%s: readOnlyRootFilesystem must be true" % cw)
        if sc.get("privileged"):
            problem("%s: must not be privileged" % cw)
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []) or caps.get("add"):
            problem("%s: capabilities must drop ALL and add none" % cw)
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    problem("%s: resources.%s.%s missing" % (cw, kind, r))
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if probe not in c:
                problem("%s: %s missing" % (cw, probe))
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for name, port in ports.items():
            if port < 1024:
                problem("%s: port %s=%d is privileged" % (cw, name, port))
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            for kind in ("tcpSocket", "grpc", "httpGet"):
                port = c.get(probe, {}).get(kind, {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problem("%s: %s uses unknown port %s" % (cw, probe, port))
                if kind == "grpc" and port is not None and port not in ports.values():
                    # Kubernetes takes only a number here.
                    problem("%s: %s grpc port %s is not a container port" % (cw, probe, port))
        image = c.get("image", "")
        last = image.rsplit("/", 1)[-1]
        if "/" not in image or image.endswith(":latest") or (":" not in last and "@" not in last):
            problem("%s: image %r must be a registry path with a tag or digest" % (cw, image))
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] not in cert_secrets | EXTERNAL_SECRETS:
                problem("%s: env %s reads unknown Secret %s" % (cw, env["name"], ref["name"]))

        # Mounts: what each path of the container's file system comes from.
        mounts = []
        for m in c.get("volumeMounts", []):
            v = volumes.get(m["name"])
            if v is None:
                problem("%s: volumeMount %s has no volume" % (cw, m["name"]))
                continue
            mounts.append((m["mountPath"].rstrip("/"), m, v))
            if "secret" in v:
                name = v["secret"]["secretName"]
                if name not in cert_secrets | EXTERNAL_SECRETS:
                    problem("%s: volume %s mounts Secret %s, which nothing creates" % (cw, m["name"], name))
                if v["secret"].get("defaultMode", 0o644) & 0o007:
                    problem("%s: Secret volume %s is world-readable (set defaultMode 0440)" % (cw, m["name"]))
                if not m.get("readOnly"):
                    problem("%s: Secret volume %s must be mounted readOnly" % (cw, m["name"]))
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                problem("%s: ConfigMap %s is not in the overlay" % (cw, v["configMap"]["name"]))

        def source(path):
            for mount_path, m, v in mounts:
                if path.startswith(mount_path + "/"):
                    return path[len(mount_path) + 1:], m, v
            return None

        config_args = [a.split("=", 1)[1] for a in c.get("args", []) if a.startswith("--config=")]
        if len(config_args) != 1:
            problem("%s: needs exactly one --config=FILE argument" % cw)
            continue
        found = source(config_args[0])
        if found is None or "configMap" not in found[2]:
            problem("%s: --config=%s is not on a ConfigMap mount" % (cw, config_args[0]))
            continue
        key, _, v = found
        cm = configmaps.get(v["configMap"]["name"])
        if cm is None or key not in cm.get("data", {}):
            problem("%s: ConfigMap %s has no key %s" % (cw, v["configMap"]["name"], key))
            continue
        config = parse_textproto(cm["data"][key])
        configs.append((overlay, w, config))
        for field, path in file_paths(config):
            if path in IMAGE_FILES:
                continue
            found = source(path)
            if found is None:
                problem("%s: config %s=%s is on no volume" % (cw, field, path))
                continue
            rel, m, v = found
            if "secret" in v:
                items = [i["path"] for i in v["secret"].get("items", [])]
                allowed = items if items else (TLS_KEYS if v["secret"]["secretName"] in cert_secrets else [])
                if rel not in allowed:
                    problem("%s: config %s=%s: Secret %s provides no %s" %
                            (cw, field, path, v["secret"]["secretName"], rel))
            if field == "audit.path" and (m.get("readOnly") or "persistentVolumeClaim" not in v):
                problem("%s: audit.path %s must be on a writable persistent volume" % (cw, path))
        grace = seconds(config, "shutdown_grace") or 0
        pre_stop = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        sleep = int(pre_stop[-1]) if pre_stop and pre_stop[-1].isdigit() else 0
        if pod.get("terminationGracePeriodSeconds", 30) <= grace + sleep:
            problem("%s: terminationGracePeriodSeconds %s must exceed shutdown_grace %d + preStop %d" %
                    (where, pod.get("terminationGracePeriodSeconds", 30), grace, sleep))
        listen = one(config, "listen_address", "")
        if not listen.endswith(":%d" % ports.get("grpc", -1)):
            problem("%s: listen_address %s is not the grpc port %s" % (cw, listen, ports.get("grpc")))
        metrics = one(config, "metrics_address", "")
        if not metrics.endswith(":%d" % ports.get("metrics", -1)):
            problem("%s: metrics_address %s is not the metrics port %s" % (cw, metrics, ports.get("metrics")))
        # gRPC probes must reach the plaintext health listener: the gRPC
        # port is mTLS and the kubelet presents no certificate.
        health = one(config, "health_address", "")
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            grpc_probe = c.get(probe, {}).get("grpc")
            if grpc_probe is None:
                continue
            if not health:
                problem("%s: %s is a gRPC probe but the config sets no health_address" % (cw, probe))
            elif not health.endswith(":%s" % grpc_probe.get("port")):
                problem("%s: %s probes port %s, the config's health_address is %s" %
                        (cw, probe, grpc_probe.get("port"), health))
    return labels


def check_overlay(overlay, objects, configs):
    kinds = {}
    for o in objects:
        kinds.setdefault(o["kind"], []).append(o)
    ns = kinds.get("Namespace", [])
    if len(ns) != 1 or ns[0]["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") != "restricted":
        problem("%s: one Namespace with pod-security.kubernetes.io/enforce=restricted expected" % overlay)
    for o in objects:
        if o["kind"] != "Namespace" and o["metadata"].get("namespace") != "vantage":
            problem("%s: %s/%s is not in namespace vantage" % (overlay, o["kind"], o["metadata"]["name"]))
    workloads = kinds.get("Deployment", []) + kinds.get("StatefulSet", [])
    if len(workloads) != 1:
        problem("%s: exactly one workload expected, got %d" % (overlay, len(workloads)))
        return
    w = workloads[0]
    where = "%s %s/%s" % (overlay, w["kind"], w["metadata"]["name"])
    labels = check_workload(overlay, where, w, objects, configs)
    ports = {p["name"] for c in w["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])}

    def matching(kind, selector_of):
        found = [o for o in kinds.get(kind, []) if selects(selector_of(o), labels)]
        if not found:
            problem("%s: no %s selects the workload's pods" % (where, kind))
        return found

    for svc in [o for o in kinds.get("Service", []) if all(labels.get(k) == v for k, v in o["spec"]["selector"].items())] or [None]:
        if svc is None:
            problem("%s: no Service selects the workload's pods" % where)
            break
        for p in svc["spec"]["ports"]:
            if p["targetPort"] not in ports:
                problem("%s: Service %s targets unknown port %s" % (where, svc["metadata"]["name"], p["targetPort"]))
        if PLACEHOLDER_CIDR in svc["spec"].get("loadBalancerSourceRanges", []):
            problem("%s: Service %s keeps the base's placeholder source range" % (where, svc["metadata"]["name"]))
    matching("PodDisruptionBudget", lambda o: o["spec"]["selector"])
    matching("PodMonitor", lambda o: o["spec"]["selector"])
    for np in matching("NetworkPolicy", lambda o: o["spec"]["podSelector"]):
        if "Ingress" not in np["spec"].get("policyTypes", []):
            problem("%s: NetworkPolicy %s does not restrict ingress" % (where, np["metadata"]["name"]))
        grpc_rules = 0
        for rule in np["spec"].get("ingress", []):
            if not rule.get("from"):
                problem("%s: NetworkPolicy %s has an ingress rule open to every source" % (where, np["metadata"]["name"]))
            for p in rule.get("ports", []):
                if isinstance(p.get("port"), str) and p["port"] not in ports:
                    problem("%s: NetworkPolicy port %s is not a container port" % (where, p["port"]))
                grpc_rules += p.get("port") == "grpc"
            for peer in rule.get("from", []):
                if peer.get("ipBlock", {}).get("cidr") == PLACEHOLDER_CIDR:
                    problem("%s: NetworkPolicy keeps the base's placeholder CIDR" % where)
        if grpc_rules != 1:
            problem("%s: exactly one ingress rule must admit the gRPC port" % where)
    for cert in kinds.get("Certificate", []):
        if cert["spec"].get("issuerRef", {}).get("kind") not in ("ClusterIssuer", "Issuer"):
            problem("%s: Certificate %s has no issuer" % (overlay, cert["metadata"]["name"]))
        if "REGION" in json.dumps(cert["spec"]):
            problem("%s: Certificate %s keeps the base's REGION placeholder" % (overlay, cert["metadata"]["name"]))


def check_wiring(configs, objects_by_overlay):
    vas = [(o, c) for o, w, c in configs if "remotes" in c or "primary_id" in c]
    perspectives = {o: c for o, w, c in configs if "rir" in c and "primary_id" not in c}
    if len(vas) != 1:
        problem("overlays: exactly one VA overlay expected, got %d" % len(vas))
        return
    va_overlay, va = vas[0]
    if len(perspectives) < 5:
        problem("overlays: at least five remote perspective overlays expected (BR 3.2.2.9), got %d" % len(perspectives))
    by_id = {}
    for overlay, c in perspectives.items():
        region = overlay.rsplit("/", 1)[-1]
        if one(c, "id") != region:
            problem("%s: perspective id %r is not the overlay's region %r" % (overlay, one(c, "id"), region))
        by_id[one(c, "id")] = (overlay, c)
    va_objects = objects_by_overlay[va_overlay]
    client_names = set()
    for cert in va_objects:
        if cert["kind"] == "Certificate" and "client auth" in cert["spec"].get("usages", []):
            client_names.update(cert["spec"].get("dnsNames", []))
    remotes = va.get("remotes", [])
    rirs = {one(r, "rir") for r in remotes}
    if len(rirs) < 2:
        problem("%s: remotes span %d RIR(s), BR 3.2.2.9 needs 2" % (va_overlay, len(rirs)))
    if one(va, "primary_id") in by_id:
        problem("%s: the primary's id is also a remote perspective" % va_overlay)
    for r in remotes:
        rid = one(r, "id")
        if rid not in by_id:
            problem("%s: remote %s has no overlay" % (va_overlay, rid))
            continue
        overlay, c = by_id.pop(rid)
        if one(c, "rir") != one(r, "rir"):
            problem("%s: remote %s has RIR %s, its config %s" % (va_overlay, rid, one(r, "rir"), one(c, "rir")))
        host = one(r, "address", "").rsplit(":", 1)[0]
        server_name = one(one(r, "tls", {}), "server_name", host)
        names = [n for o in objects_by_overlay[overlay] if o["kind"] == "Certificate"
                 for n in o["spec"].get("dnsNames", [])]
        if server_name not in names:
            problem("%s: remote %s is verified as %s, but %s's certificate names %s" %
                    (va_overlay, rid, server_name, overlay, names))
        allowed = set(one(c, "tls", {}).get("allowed_client_names", []))
        if not allowed & client_names:
            problem("%s: allows clients %s, the VA's client certificate names %s" %
                    (overlay, sorted(allowed), sorted(client_names)))
    for rid, (overlay, _) in by_id.items():
        problem("%s: perspective %s is not among the VA's remotes" % (overlay, rid))


def check_manifests(pairs):
    configs = []
    objects_by_overlay = {}
    for pair in pairs:
        overlay, rendered = pair.split("=", 1)
        objects = [o for o in yaml.safe_load_all(open(rendered)) if o]
        objects_by_overlay[overlay] = objects
        check_overlay(overlay, objects, configs)
    check_wiring(configs, objects_by_overlay)


def main(argv):
    if len(argv) >= 7 and argv[1] == "observability":
        check_observability(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7:])
    elif len(argv) >= 3 and argv[1] == "manifests":
        check_manifests(argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in PROBLEMS:
        print("PROBLEM: " + p)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
