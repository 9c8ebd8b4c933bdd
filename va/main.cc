// vantage-va: the validation authority (DESIGN.md "Components").
//
//   vantage-va --config=FILE [--accounts=LOCATION] [--insecure] [--log_requests]
//   vantage-va --config=FILE [--accounts=LOCATION] [--insecure] --check_config
//
// Loads and validates the VaConfig textproto (every problem at once; exit 2),
// opens the account store (SQLite file or PostgreSQL), the audit log, its own
// (primary) libunbound perspective and a long-lived mTLS channel to every
// remote perspective, serves vantage.v1.ValidationAuthority with mTLS (plus
// grpc.health.v1 and reflection) and /metrics, and prints once ready:
//   vantage-va health on HOST:PORT        (when health_address is set)
//   vantage-va metrics on HOST:PORT       (when metrics_address is set)
//   vantage-va listening on HOST:PORT     (always last)
// On SIGTERM/SIGINT: health NOT_SERVING, new calls refused, validations
// (stragglers and audit records included) drained for up to shutdown_grace,
// the audit log flushed, exit 0.
//
// --accounts overrides account_store ("sqlite:/path" or "postgresql://...").
// --insecure: plaintext on every hop, refused unless every address is
// loopback (DESIGN.md "Security": local demos only).
//
// --check_config loads and validates the config as a start would (the files
// it names included), prints "config OK: <summary>" on stdout and exits 0,
// or prints every problem on stderr and exits 2. It starts nothing: no
// listening, no resolver, no channel, no account store or audit file opened.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/server_util.h"
#include "common/textproto.h"
#include "common/tls.h"
#include "perspective/remote_observer.h"
#include "perspective/unbound_observer.h"
#include "policy/quorum.h"
#include "prometheus/registry.h"
#include "va/account_store_factory.h"
#include "va/audit_log.h"
#include "va/config.h"
#include "va/service.h"
#include "va/validation_authority.h"

ABSL_FLAG(std::string, config, "", "VaConfig textproto file (required).");
ABSL_FLAG(std::string, accounts, "",
          "Account store, overrides account_store: sqlite:/path or postgresql://...");
ABSL_FLAG(bool, insecure, false,
          "Plaintext on every hop without client authentication (loopback addresses only).");
ABSL_FLAG(bool, check_config, false,
          "Validate the config and the files it names, print \"config OK: ...\" or every "
          "problem, and exit (0 OK, 2 problems) without starting anything.");

namespace vantage::va {
namespace {

// A ValidatePersistRequest is small (identifier <= 1 KiB, URL <= 2 KiB).
constexpr int kMaxRequestBytes = 64 * 1024;

int Fail(int code, absl::string_view what) {
  std::fprintf(stderr, "vantage-va: %s\n", std::string(what).c_str());
  return code;
}

// AccountStoreProblems checks the account store location without opening it:
// the scheme, and for SQLite that the file exists (a start would create a
// missing file as an EMPTY store, in which every account is unknown).
// PostgreSQL is not contacted (the check must not need the database).
void AccountStoreProblems(const std::string& location, std::vector<std::string>* problems) {
  if (absl::StartsWith(location, "postgresql://") || absl::StartsWith(location, "postgres://")) {
    return;
  }
  absl::string_view path = location;
  if (!absl::ConsumePrefix(&path, "sqlite:") && absl::StrContains(location, "://")) {
    problems->push_back(absl::StrCat("account_store: ", RedactAccountStoreLocation(location),
                                     " has an unknown scheme (want sqlite:PATH, a file path, "
                                     "or postgresql://...)"));
    return;
  }
  struct stat st;
  if (path.empty()) {
    problems->push_back("account_store: names no file");
  } else if (::stat(std::string(path).c_str(), &st) != 0) {
    problems->push_back(absl::StrCat("account_store: SQLite file ", path,
                                     " does not exist (a start would create an empty store; "
                                     "create it with vantagectl accounts)"));
  } else if (!S_ISREG(st.st_mode)) {
    problems->push_back(absl::StrCat("account_store: ", path, " is not a regular file"));
  }
}

// AuditProblems: the directory of audit.path must exist, and the file (or,
// when missing, the directory) be writable: a start opens it O_APPEND|O_CREAT.
void AuditProblems(const v1::AuditConfig& audit, std::vector<std::string>* problems) {
  const std::string& path = audit.path();
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    problems->push_back(absl::StrCat("audit.path: directory ", dir, " does not exist"));
  } else if (::access(path.c_str(), F_OK) == 0 ? ::access(path.c_str(), W_OK) != 0
                                                : ::access(dir.c_str(), W_OK | X_OK) != 0) {
    problems->push_back(absl::StrCat("audit.path: ", path, " is not writable"));
  }
}

// StartupProblems: what a start would run into after LoadVaConfig, checked
// without opening anything: the remotes' client certificates and keys
// (parsed, matching and valid now, as a TLS handshake needs them; a start
// only reads them), the account store location and the audit directory.
// Fields LoadVaConfig reports as missing or unreadable are skipped, so no
// problem is reported twice.
std::vector<std::string> StartupProblems(const v1::VaConfig& config, bool insecure) {
  std::vector<std::string> problems;
  for (int i = 0; i < config.remotes_size() && !insecure; ++i) {
    const v1::TlsClientConfig& tls = config.remotes(i).tls();
    if (tls.insecure_plaintext()) continue;
    auto readable = [](const std::string& path) {
      return !path.empty() && common::ReadFile(path).ok() ? path : std::string();
    };
    v1::TlsServerConfig as_server;
    as_server.set_cert_file(readable(tls.cert_file()));
    as_server.set_key_file(readable(tls.key_file()));
    as_server.set_client_ca_file(readable(tls.ca_file()));
    std::vector<std::string> found;
    const std::string prefix = absl::StrCat("remotes[", i, "].tls");
    common::CheckTlsServerFiles(as_server, prefix, &found);
    for (const std::string& p : found) {
      problems.push_back(absl::StrReplaceAll(
          p, {{absl::StrCat(prefix, ".client_ca_file"), absl::StrCat(prefix, ".ca_file")}}));
    }
  }
  if (!config.account_store().empty()) AccountStoreProblems(config.account_store(), &problems);
  if (!config.audit().path().empty()) AuditProblems(config.audit(), &problems);
  return problems;
}

// CheckConfig implements --check_config: LoadVaConfig exactly as a start
// runs it, plus StartupProblems; every problem is printed.
int CheckConfig(const std::string& path, absl::Time now, const VaConfigOverrides& overrides) {
  absl::StatusOr<v1::VaConfig> config = LoadVaConfig(path, now, overrides);
  v1::VaConfig raw;  // for StartupProblems even when LoadVaConfig failed
  std::vector<std::string> problems;
  if (common::LoadTextProtoFile(path, &raw).ok()) {
    if (!overrides.account_store.empty()) raw.set_account_store(overrides.account_store);
    problems = StartupProblems(raw, overrides.insecure_plaintext);
  }
  if (!config.ok() || !problems.empty()) {
    std::string message = config.ok() ? "" : std::string(config.status().message());
    if (!problems.empty()) {
      absl::StrAppend(&message, config.ok() ? "" : "\n", path, ": ", problems.size(),
                      problems.size() == 1 ? " problem" : " problems",
                      config.ok() ? "" : " more", " found by --check_config:\n  ",
                      absl::StrJoin(problems, "\n  "));
    }
    return Fail(2, message);
  }
  std::vector<std::string> remotes;
  for (const v1::RemotePerspectiveConfig& r : config->remotes()) {
    remotes.push_back(absl::StrCat(r.id(), "/", v1::Rir_Name(r.rir()), "@", r.address()));
  }
  const std::string tls =
      config->tls().insecure_plaintext()
          ? "PLAINTEXT"
          : absl::StrCat("mTLS, clients ", absl::StrJoin(config->tls().allowed_client_names(), ","));
  const std::string summary = absl::StrCat(
      "va ", config->id(), " on ", config->listen_address(), " (", tls, "); issuers ",
      absl::StrJoin(config->issuer_domain_names(), ","), "; accounturi ",
      v1::AccountUriMode_Name(config->accounturi_mode()), " (",
      absl::StrJoin(config->hash_algorithms(), ","), "); primary ", config->primary_id(), "/",
      v1::Rir_Name(config->primary_rir()), "; ", config->remotes_size(), " remotes [",
      absl::StrJoin(remotes, ", "), "], BR 3.2.2.9 requires ",
      policy::MinRemotesRequired(now, VaOptionsFromConfig(*config).min_remotes_rules), " as of ",
      absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone()), "; account store ",
      RedactAccountStoreLocation(config->account_store()), "; audit ", config->audit().path(),
      " (", v1::AuditConfig::Fsync_Name(config->audit().fsync()), "); metrics ",
      config->metrics_address().empty() ? "off" : config->metrics_address());
  std::printf("config OK: %s\n", summary.c_str());
  return 0;
}

int Run(int argc, char** argv) {
  common::BlockStopSignals();
  absl::ParseCommandLine(argc, argv);
  // As vantage-perspective does: Debian's Abseil is built without NDEBUG, so
  // every absl::Mutex acquisition (gRPC's included) would update the
  // lock-order graph for deadlock detection - a debugging aid the tests keep,
  // not a production cost (it was ~3% of the VA's CPU in va_bench).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (config_path.empty()) return Fail(2, "--config=FILE is required");
  common::RealClock clock;
  VaConfigOverrides overrides;
  overrides.account_store = absl::GetFlag(FLAGS_accounts);
  overrides.insecure_plaintext = absl::GetFlag(FLAGS_insecure);
  if (absl::GetFlag(FLAGS_check_config)) return CheckConfig(config_path, clock.Now(), overrides);
  absl::StatusOr<v1::VaConfig> config = LoadVaConfig(config_path, clock.Now(), overrides);
  if (!config.ok()) return Fail(2, absl::StrCat("refusing to start: ", config.status().message()));

  if (config->accounturi_mode() == v1::ACCOUNT_URI_MODE_LEGACY_RAW) {
    common::LogLine(
        "WARNING: accounturi_mode LEGACY_RAW: records naming a raw account URL are accepted. "
        "This is the proxy-ACME-server attack surface that draft-ietf-acme-dns-persist-02 "
        "closed (SPEC.md 3); use it only for clients that cannot compute the hashed form.");
  }
  StoreOptions store_options;
  // The VA only reads accounts: a mistyped SQLite path must not become a new,
  // empty store (every validation would then fail as "account not known").
  // `vantagectl accounts add` creates the file.
  store_options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<AccountStore>> store =
      OpenAccountStore(config->account_store(), store_options);
  if (!store.ok()) return Fail(1, absl::StrCat("account store: ", store.status().ToString()));
  auto registry = std::make_shared<prometheus::Registry>();
  absl::StatusOr<std::unique_ptr<FileAuditSink>> audit =
      FileAuditSink::Create(config->audit(), registry.get());
  if (!audit.ok()) return Fail(1, audit.status().ToString());

  perspective::UnboundObserver::Options primary_options;
  primary_options.perspective_id = config->primary_id();
  primary_options.rir = config->primary_rir();
  primary_options.region = "primary";
  primary_options.resolver = config->primary_resolver();
  absl::StatusOr<std::unique_ptr<perspective::UnboundObserver>> primary =
      perspective::UnboundObserver::Create(primary_options);
  if (!primary.ok()) return Fail(1, absl::StrCat("primary resolver: ", primary.status().ToString()));

  std::vector<std::unique_ptr<perspective::RemoteObserver>> remotes;
  ValidationAuthority::Deps deps;
  deps.primary = {config->primary_id(), config->primary_rir(), primary->get()};
  for (const v1::RemotePerspectiveConfig& r : config->remotes()) {
    perspective::RemoteObserver::Options options;
    options.address = r.address();
    options.tls = r.tls();
    options.expected_id = r.id();
    options.expected_rir = r.rir();
    absl::StatusOr<std::unique_ptr<perspective::RemoteObserver>> remote =
        perspective::RemoteObserver::Create(options);
    if (!remote.ok()) {
      return Fail(2, absl::StrCat("remote ", r.id(), ": ", remote.status().ToString()));
    }
    deps.remotes.push_back({r.id(), r.rir(), remote->get()});
    remotes.push_back(*std::move(remote));
  }
  deps.store = store->get();
  deps.audit = audit->get();
  deps.clock = &clock;
  deps.registry = registry.get();
  absl::StatusOr<std::unique_ptr<ValidationAuthority>> va =
      ValidationAuthority::Create(VaOptionsFromConfig(*config), deps);
  if (!va.ok()) return Fail(2, va.status().ToString());
  VaService service(va->get(), config->tls());

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      common::MakeServerCredentials(config->tls(), config->listen_address());
  if (!credentials.ok()) return Fail(2, credentials.status().ToString());
  absl::StatusOr<common::GrpcServer> server =
      common::StartGrpcServer(config->listen_address(), *credentials, {&service}, kMaxRequestBytes);
  if (!server.ok()) return Fail(1, server.status().ToString());
  const std::vector<std::string> service_names = {v1::ValidationAuthority::service_full_name()};
  // The kubelet's probes: a plaintext, health-only listener (proto/config.proto).
  std::unique_ptr<grpc::Server> health;
  if (!config->health_address().empty()) {
    absl::StatusOr<common::GrpcServer> started = common::StartHealthServer(config->health_address());
    if (!started.ok()) {
      server->server->Shutdown();
      return Fail(1, started.status().ToString());
    }
    health = std::move(started->server);
    std::printf("vantage-va health on %s\n", started->address.c_str());
  }
  common::SetHealth({server->server.get(), health.get()}, service_names, true);

  std::unique_ptr<common::MetricsServer> metrics;
  if (!config->metrics_address().empty()) {
    auto started = common::MetricsServer::Start(config->metrics_address(), registry);
    if (!started.ok()) {
      server->server->Shutdown();
      return Fail(1, started.status().ToString());
    }
    metrics = *std::move(started);
    std::printf("vantage-va metrics on %s\n", metrics->address().c_str());
  }
  // Warm the remote channels so the first validation does not pay for the
  // mTLS handshakes (perf-floors: a new mTLS connection costs ~60 calls).
  for (auto& r : remotes) r->WaitForConnected(absl::Now() + absl::Seconds(2));
  common::LogLine(absl::StrCat(
      "va ", config->id(), " serving on ", server->address,
      config->tls().insecure_plaintext() ? " in PLAINTEXT (local demo mode)" : " with mTLS",
      "; accounturi mode ", v1::AccountUriMode_Name(config->accounturi_mode()), "; ",
      remotes.size(), " remote perspectives; account store ",
      RedactAccountStoreLocation(config->account_store())));
  std::printf("vantage-va listening on %s\n", server->address.c_str());
  std::fflush(stdout);

  const std::string sig = common::WaitForStopSignal();
  const absl::Duration grace = ShutdownGrace(*config);
  common::LogLine(absl::StrCat("received ", sig, ": draining ", (*va)->in_flight(),
                               " validations for up to ", absl::FormatDuration(grace)));
  common::SetHealth({server->server.get(), health.get()}, service_names, false);
  service.StartDraining();
  if (!(*va)->Drain(absl::Now() + grace)) {
    common::LogLine(absl::StrCat("shutdown grace expired with ", (*va)->in_flight(),
                                 " validations in flight"));
  }
  server->server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  server->server->Wait();
  if (health != nullptr) health->Shutdown(absl::ToChronoTime(absl::Now()));
  // Remote calls still running are cancelled (CANCELLED evidence), the
  // primary's pending lookups end with UNAVAILABLE; then the VA is idle.
  remotes.clear();
  primary->reset();
  (*va)->Drain(absl::Now() + absl::Seconds(5));
  if (absl::Status s = (*audit)->Flush(); !s.ok()) {
    common::LogLine(absl::StrCat("audit log: ", s.ToString()));
  }
  metrics.reset();
  common::LogLine("stopped");
  return 0;
}

}  // namespace
}  // namespace vantage::va

int main(int argc, char** argv) { return vantage::va::Run(argc, argv); }
