#include "va/config.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/config_util.h"
#include "common/textproto.h"
#include "common/tls.h"
#include "perspective/config.h"
#include "policy/account_hash.h"
#include "policy/identifier.h"
#include "policy/proto_convert.h"
#include "policy/quorum.h"
#include "policy/record.h"

namespace vantage::va {
namespace {

using common::CheckDuration;
using common::DurationFromProto;
using common::Quoted;

std::vector<policy::MinRemotesRule> RulesFromConfig(const v1::MpicConfig& mpic) {
  std::vector<policy::MinRemotesRule> rules;
  for (const auto& r : mpic.min_remotes()) {
    rules.push_back({absl::FromUnixSeconds(r.effective().seconds()) +
                         absl::Nanoseconds(r.effective().nanos()),
                     static_cast<int>(r.min_remotes())});
  }
  return rules;
}

// A value of the accountHashPrefix ends up inside the TXT record value, whose
// bytes must be %x21-3A / %x3C-7E (SPEC.md 2: no SP, no ';').
bool IsRecordValueSafe(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= 0x21 && c <= 0x7e && c != ';'; });
}

}  // namespace

std::vector<std::string> VaConfigProblems(const v1::VaConfig& config, absl::Time now) {
  std::vector<std::string> problems;
  auto add = [&problems](std::string p) { problems.push_back(std::move(p)); };

  if (!common::IsInstanceId(config.id())) {
    add(absl::StrCat("id: ", Quoted(config.id()), " must be 1..63 characters of [a-z0-9-]"));
  }
  if (config.listen_address().empty()) {
    add("listen_address: required (HOST:PORT)");
  } else if (auto hp = common::SplitHostPort(config.listen_address()); !hp.ok()) {
    add(absl::StrCat("listen_address: ", hp.status().message()));
  }
  common::ValidateTlsServerConfig(config.tls(), config.listen_address(), "tls", &problems);

  // SPEC.md 2: the CA's issuer domain names, compared after normalization.
  if (config.issuer_domain_names().empty() || config.issuer_domain_names_size() > 10) {
    add("issuer_domain_names: 1..10 names required (SPEC.md 2)");
  }
  absl::flat_hash_set<std::string> issuers;
  for (int i = 0; i < config.issuer_domain_names_size(); ++i) {
    const std::string& name = config.issuer_domain_names(i);
    const std::string field = absl::StrCat("issuer_domain_names[", i, "]");
    if (policy::NormalizeIssuer(name) != name) {
      add(absl::StrCat(field, ": ", Quoted(name),
                       " must be written lowercase, without surrounding blanks or trailing dot"));
    } else if (absl::Status s = policy::ValidateFqdn(name); !s.ok()) {
      add(absl::StrCat(field, ": ", s.message()));
    }
    if (!issuers.insert(name).second) add(absl::StrCat(field, ": ", Quoted(name), " listed twice"));
  }

  // SPEC.md 3: hashed mode needs the CA's accountHashPrefix.
  const bool hashed = config.accounturi_mode() != v1::ACCOUNT_URI_MODE_LEGACY_RAW;
  if (hashed) {
    const std::string& prefix = config.account_hash_prefix();
    if (prefix.empty()) {
      add("account_hash_prefix: required in HASHED accounturi mode (SPEC.md 3)");
    } else if (prefix.rfind("https://", 0) != 0 || prefix.size() > policy::kMaxHashPrefixLength ||
               !IsRecordValueSafe(prefix)) {
      add(absl::StrCat("account_hash_prefix: ", Quoted(prefix),
                       " must be an https:// URL of at most 1024 printable characters without "
                       "';' (it is part of the record value, SPEC.md 2-3)"));
    }
  }
  bool has_sha256 = config.hash_algorithms().empty();
  absl::flat_hash_set<std::string> algs;
  for (int i = 0; i < config.hash_algorithms_size(); ++i) {
    const std::string& alg = config.hash_algorithms(i);
    const std::string field = absl::StrCat("hash_algorithms[", i, "]");
    if (auto parsed = policy::ParseHashAlg(alg); !parsed.ok()) {
      add(absl::StrCat(field, ": ", parsed.status().message()));
    } else if (*parsed == policy::HashAlg::kSha256) {
      has_sha256 = true;
    }
    if (!algs.insert(alg).second) add(absl::StrCat(field, ": ", Quoted(alg), " listed twice"));
  }
  if (!has_sha256) add("hash_algorithms: must include \"sha-256\" (required by -02, SPEC.md 3)");

  // The primary perspective (the VA's own resolver).
  if (!common::IsInstanceId(config.primary_id())) {
    add(absl::StrCat("primary_id: ", Quoted(config.primary_id()),
                     " must be 1..63 characters of [a-z0-9-]"));
  }
  if (config.primary_rir() == v1::RIR_UNSPECIFIED) {
    add("primary_rir: required (the RIR the VA's own perspective is in)");
  }
  perspective::ResolverConfigProblems(config.primary_resolver(), "primary_resolver", &problems);

  // Remote perspectives (SPEC.md 6).
  absl::flat_hash_set<std::string> ids = {config.primary_id()};
  absl::flat_hash_set<int> rirs;
  for (int i = 0; i < config.remotes_size(); ++i) {
    const v1::RemotePerspectiveConfig& r = config.remotes(i);
    const std::string field = absl::StrCat("remotes[", i, "]");
    if (!common::IsInstanceId(r.id())) {
      add(absl::StrCat(field, ".id: ", Quoted(r.id()), " must be 1..63 characters of [a-z0-9-]"));
    } else if (!ids.insert(r.id()).second) {
      add(absl::StrCat(field, ".id: ", Quoted(r.id()),
                       " is used twice (a perspective must never count twice)"));
    }
    if (r.rir() == v1::RIR_UNSPECIFIED) {
      add(absl::StrCat(field, ".rir: required (BR 3.2.2.9 counts RIRs)"));
    } else {
      rirs.insert(r.rir());
    }
    if (r.address().empty()) {
      add(absl::StrCat(field, ".address: required (HOST:PORT)"));
    } else if (auto hp = common::SplitHostPort(r.address()); !hp.ok()) {
      add(absl::StrCat(field, ".address: ", hp.status().message()));
    }
    common::ValidateTlsClientConfig(r.tls(), r.address(), absl::StrCat(field, ".tls"), &problems);
  }
  const std::vector<policy::MinRemotesRule> rules = RulesFromConfig(config.mpic());
  if (absl::Status s = policy::ValidateMinRemotesRules(rules); !s.ok()) {
    add(absl::StrCat("mpic.min_remotes: ", s.message()));
  } else {
    // BR 3.2.2.9 phase-in: refuse to start with fewer remotes than the rule
    // in force requires, and with corroborators that could never span two
    // RIRs.
    const int required = policy::MinRemotesRequired(now, rules);
    if (config.remotes_size() < required) {
      add(absl::StrCat("remotes: ", config.remotes_size(), " configured, BR 3.2.2.9 requires at ",
                       "least ", required, " remote perspectives as of ",
                       absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone())));
    }
    if (required > 0 && rirs.size() < 2) {
      add("remotes: must span at least 2 distinct RIRs (BR 3.2.2.9), or no quorum can ever be met");
    }
  }

  CheckDuration(config.has_default_deadline(), config.default_deadline(), "default_deadline",
                absl::Milliseconds(100), absl::Seconds(120), &problems);
  CheckDuration(config.has_perspective_deadline(), config.perspective_deadline(),
                "perspective_deadline", absl::Milliseconds(50), absl::Seconds(60), &problems);
  CheckDuration(config.has_shutdown_grace(), config.shutdown_grace(), "shutdown_grace",
                absl::ZeroDuration(), absl::Minutes(10), &problems);
  if (config.account_store().empty()) {
    add("account_store: required (\"sqlite:/path/accounts.db\" or \"postgresql://...\")");
  }
  if (config.audit().path().empty()) add("audit.path: required (BR 5.4.1: every validation is logged)");
  if (config.audit().fsync() == v1::AuditConfig::FSYNC_INTERVAL) {
    CheckDuration(config.audit().has_fsync_interval(), config.audit().fsync_interval(),
                  "audit.fsync_interval", absl::Milliseconds(1), absl::Minutes(10), &problems);
  }
  if (!config.metrics_address().empty()) {
    if (auto hp = common::SplitHostPort(config.metrics_address()); !hp.ok()) {
      add(absl::StrCat("metrics_address: ", hp.status().message()));
    }
  }
  common::HealthAddressProblems(config.health_address(), config.listen_address(),
                                config.metrics_address(), &problems);
  return problems;
}

void ApplyVaDefaults(v1::VaConfig* config) {
  if (config->accounturi_mode() == v1::ACCOUNT_URI_MODE_UNSPECIFIED) {
    config->set_accounturi_mode(v1::ACCOUNT_URI_MODE_HASHED);
  }
  if (config->hash_algorithms().empty()) config->add_hash_algorithms("sha-256");
  if (!config->has_default_deadline()) {
    *config->mutable_default_deadline() = common::DurationToProto(kDefaultValidationDeadline);
  }
  if (!config->has_perspective_deadline()) {
    *config->mutable_perspective_deadline() = common::DurationToProto(kDefaultPerspectiveDeadline);
  }
  if (!config->has_shutdown_grace()) {
    *config->mutable_shutdown_grace() = common::DurationToProto(kDefaultVaShutdownGrace);
  }
  if (config->audit().fsync() == v1::AuditConfig::FSYNC_UNSPECIFIED) {
    config->mutable_audit()->set_fsync(v1::AuditConfig::FSYNC_EVERY_RECORD);
  }
}

std::vector<std::string> VaConfigFileProblems(const v1::VaConfig& config) {
  std::vector<std::string> problems;
  common::CheckTlsServerFiles(config.tls(), "tls", &problems);
  perspective::ResolverFileProblems(config.primary_resolver(), "primary_resolver", &problems);
  for (int i = 0; i < config.remotes_size(); ++i) {
    const v1::TlsClientConfig& tls = config.remotes(i).tls();
    if (tls.insecure_plaintext()) continue;
    for (const auto& [path, name] : {std::pair{tls.cert_file(), "cert_file"},
                                     std::pair{tls.key_file(), "key_file"},
                                     std::pair{tls.ca_file(), "ca_file"}}) {
      if (path.empty()) continue;
      if (auto data = common::ReadFile(path); !data.ok()) {
        problems.push_back(absl::StrCat("remotes[", i, "].tls.", name, ": ",
                                        data.status().message()));
      }
    }
  }
  return problems;
}

absl::StatusOr<v1::VaConfig> LoadVaConfig(const std::string& path, absl::Time now,
                                          const VaConfigOverrides& overrides) {
  v1::VaConfig config;
  if (absl::Status parsed = common::LoadTextProtoFile(path, &config); !parsed.ok()) return parsed;
  if (!overrides.account_store.empty()) config.set_account_store(overrides.account_store);
  if (overrides.insecure_plaintext) {
    config.mutable_tls()->set_insecure_plaintext(true);
    for (auto& r : *config.mutable_remotes()) r.mutable_tls()->set_insecure_plaintext(true);
  }
  std::vector<std::string> problems = VaConfigProblems(config, now);
  ApplyVaDefaults(&config);
  for (std::string& p : VaConfigFileProblems(config)) problems.push_back(std::move(p));
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", problems.size(),
                                                   problems.size() == 1 ? " problem" : " problems",
                                                   ":\n  ", absl::StrJoin(problems, "\n  ")));
  }
  return config;
}

ValidationAuthority::Options VaOptionsFromConfig(const v1::VaConfig& config) {
  ValidationAuthority::Options o;
  o.va_id = config.id();
  o.issuer_domain_names.assign(config.issuer_domain_names().begin(),
                               config.issuer_domain_names().end());
  o.mode = policy::AccountUriModeFromProto(config.accounturi_mode());
  o.account_hash_prefix = config.account_hash_prefix();
  o.hash_algorithms.assign(config.hash_algorithms().begin(), config.hash_algorithms().end());
  o.max_retained_keys = config.max_retained_keys();
  o.default_deadline =
      DurationFromProto(config.default_deadline()).value_or(kDefaultValidationDeadline);
  o.perspective_deadline =
      DurationFromProto(config.perspective_deadline()).value_or(kDefaultPerspectiveDeadline);
  o.min_remotes_rules = RulesFromConfig(config.mpic());
  return o;
}

absl::Duration ShutdownGrace(const v1::VaConfig& config) {
  return DurationFromProto(config.shutdown_grace()).value_or(kDefaultVaShutdownGrace);
}

}  // namespace vantage::va
