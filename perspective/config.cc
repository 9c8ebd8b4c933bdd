#include "perspective/config.h"

#include <arpa/inet.h>

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/config_util.h"
#include "common/textproto.h"
#include "common/tls.h"
#include "google/protobuf/duration.pb.h"

namespace vantage::perspective {
namespace {

using common::CheckDuration;
using common::FieldPath;
using common::Quoted;


bool IsIpLiteral(absl::string_view s) {
  const std::string str(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, str.c_str(), buf) == 1 || inet_pton(AF_INET6, str.c_str(), buf) == 1;
}

// IsZoneName: a lowercase LDH DNS name, optionally with the trailing dot.
bool IsZoneName(absl::string_view name) {
  absl::ConsumeSuffix(&name, ".");
  if (name.empty() || name.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')) return false;
    }
  }
  return true;
}

// TrustAnchorHasRecords: at least one non-comment line with a DS or DNSKEY
// record (the forms ub_ctx_add_ta_file / ub_ctx_add_ta_autr read).
bool TrustAnchorHasRecords(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == ';' || line.front() == '#') continue;
    for (absl::string_view token : absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (token == "DS" || token == "DNSKEY") return true;
    }
  }
  return false;
}

void FileProblem(const std::string& path, const std::string& field,
                 std::vector<std::string>* problems, std::string* contents) {
  absl::StatusOr<std::string> data = common::ReadFile(path);
  if (!data.ok()) {
    problems->push_back(absl::StrCat(field, ": ", data.status().message()));
    return;
  }
  if (data->empty()) {
    problems->push_back(absl::StrCat(field, ": ", path, " is empty"));
    return;
  }
  if (contents != nullptr) *contents = *std::move(data);
}

}  // namespace

void ResolverConfigProblems(const v1::ResolverConfig& resolver, absl::string_view prefix,
                            std::vector<std::string>* problems) {
  if (resolver.trust_anchor_file().empty()) {
    problems->push_back(absl::StrCat(
        FieldPath(prefix, "trust_anchor_file"),
        ": required (SPEC.md 5: without a trust anchor every answer looks insecure; "
        "production: ",
        kProductionTrustAnchorFile, " from dns-root-data)"));
  }
  for (int i = 0; i < resolver.forwarders_size(); ++i) {
    const std::string& fwd = resolver.forwarders(i);
    std::vector<absl::string_view> parts = absl::StrSplit(fwd, absl::MaxSplits('@', 1));
    uint32_t port = 0;
    const bool port_ok = parts.size() == 1 ||
                         (!parts[1].empty() && parts[1].size() <= 5 &&
                          parts[1].find_first_not_of("0123456789") == absl::string_view::npos &&
                          absl::SimpleAtoi(parts[1], &port) && port >= 1 && port <= 65535);
    if (!IsIpLiteral(parts[0]) || !port_ok) {
      problems->push_back(absl::StrCat(FieldPath(prefix, "forwarders"), "[", i, "]: ", Quoted(fwd),
                                       " is not ADDR or ADDR@PORT (ADDR an IPv4/IPv6 "
                                       "address, PORT 1..65535)"));
    }
  }
  CheckDuration(resolver.has_lookup_timeout(), resolver.lookup_timeout(),
                  FieldPath(prefix, "lookup_timeout"), kMinLookupTimeout, kMaxLookupTimeout,
                  problems);
  if (resolver.max_concurrent_lookups() > kMaxMaxConcurrentLookups) {
    problems->push_back(absl::StrCat(FieldPath(prefix, "max_concurrent_lookups"),
                                     ": must be within 1 .. ", kMaxMaxConcurrentLookups,
                                     " (0 = default ", kDefaultMaxConcurrentLookups, "), got ",
                                     resolver.max_concurrent_lookups()));
  }
  if (resolver.infra_cache_max_rtt_ms() != 0 &&
      resolver.infra_cache_max_rtt_ms() < kMinInfraCacheMaxRttMs) {
    problems->push_back(absl::StrCat(FieldPath(prefix, "infra_cache_max_rtt_ms"), ": must be >= ",
                                     kMinInfraCacheMaxRttMs, " (0 = default ",
                                     kDefaultInfraCacheMaxRttMs, "), got ",
                                     resolver.infra_cache_max_rtt_ms()));
  }
  CheckDuration(resolver.has_infra_host_ttl(), resolver.infra_host_ttl(),
                FieldPath(prefix, "infra_host_ttl"), absl::Seconds(1), absl::Hours(1), problems);
  for (int i = 0; i < resolver.unblock_local_zones_size(); ++i) {
    if (!IsZoneName(resolver.unblock_local_zones(i))) {
      problems->push_back(absl::StrCat(FieldPath(prefix, "unblock_local_zones"), "[", i, "]: ",
                                       Quoted(resolver.unblock_local_zones(i)),
                                       " is not a lowercase DNS zone name"));
    }
  }
}

std::vector<std::string> PerspectiveConfigProblems(const v1::PerspectiveConfig& config) {
  std::vector<std::string> problems;
  if (config.id().empty()) {
    problems.push_back("id: required (reported in every Observation; the VA checks it)");
  } else if (!common::IsInstanceId(config.id())) {
    problems.push_back(
        absl::StrCat("id: ", Quoted(config.id()), " must be 1..63 characters of [a-z0-9-]"));
  }
  if (config.rir() == v1::RIR_UNSPECIFIED) {
    problems.push_back(
        "rir: required, one of RIR_ARIN, RIR_RIPE, RIR_APNIC, RIR_LACNIC, RIR_AFRINIC "
        "(BR 3.2.2.9: corroborating remotes must span two RIRs)");
  } else if (!v1::Rir_IsValid(config.rir())) {
    problems.push_back(absl::StrCat("rir: unknown value ", static_cast<int>(config.rir())));
  }
  if (config.region().size() > 63) {
    problems.push_back(absl::StrCat("region: at most 63 characters, got ",
                                    config.region().size()));
  }
  for (char c : config.region()) {
    if (c < 0x20 || c > 0x7e) {
      problems.push_back("region: printable ASCII only");
      break;
    }
  }
  if (config.listen_address().empty()) {
    problems.push_back("listen_address: required, HOST:PORT (e.g. \"[::]:8443\")");
  } else if (absl::StatusOr<common::HostPort> hp = common::SplitHostPort(config.listen_address());
             !hp.ok()) {
    problems.push_back(absl::StrCat("listen_address: ", hp.status().message()));
  }
  ResolverConfigProblems(config.resolver(), "resolver", &problems);
  common::ValidateTlsServerConfig(config.tls(), config.listen_address(), "tls", &problems);
  if (!config.metrics_address().empty()) {
    if (absl::StatusOr<common::HostPort> hp = common::SplitHostPort(config.metrics_address());
        !hp.ok()) {
      problems.push_back(absl::StrCat("metrics_address: ", hp.status().message()));
    }
  }
  common::HealthAddressProblems(config.health_address(), config.listen_address(),
                                config.metrics_address(), &problems);
  CheckDuration(config.has_shutdown_grace(), config.shutdown_grace(), "shutdown_grace",
                  absl::ZeroDuration(), kMaxShutdownGrace, &problems);
  return problems;
}

absl::Status ValidatePerspectiveConfig(const v1::PerspectiveConfig& config) {
  const std::vector<std::string> problems = PerspectiveConfigProblems(config);
  if (problems.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(problems, "; "));
}

void ApplyPerspectiveDefaults(v1::PerspectiveConfig* config) {
  v1::ResolverConfig* resolver = config->mutable_resolver();
  if (!resolver->has_lookup_timeout()) {
    *resolver->mutable_lookup_timeout() = common::DurationToProto(kDefaultLookupTimeout);
  }
  if (resolver->max_concurrent_lookups() == 0) {
    resolver->set_max_concurrent_lookups(kDefaultMaxConcurrentLookups);
  }
  if (resolver->infra_cache_max_rtt_ms() == 0) {
    resolver->set_infra_cache_max_rtt_ms(kDefaultInfraCacheMaxRttMs);
  }
  if (!config->has_shutdown_grace()) {
    *config->mutable_shutdown_grace() = common::DurationToProto(kDefaultShutdownGrace);
  }
}

void ResolverFileProblems(const v1::ResolverConfig& resolver, absl::string_view prefix,
                          std::vector<std::string>* problems) {
  if (!resolver.trust_anchor_file().empty()) {
    const std::string field = FieldPath(prefix, "trust_anchor_file");
    std::string text;
    FileProblem(resolver.trust_anchor_file(), field, problems, &text);
    if (!text.empty() && !TrustAnchorHasRecords(text)) {
      problems->push_back(
          absl::StrCat(field, ": no DS or DNSKEY record in ", resolver.trust_anchor_file()));
    }
  }
  if (!resolver.root_hints_file().empty()) {
    FileProblem(resolver.root_hints_file(), FieldPath(prefix, "root_hints_file"), problems,
                nullptr);
  }
}

std::vector<std::string> PerspectiveConfigFileProblems(const v1::PerspectiveConfig& config) {
  std::vector<std::string> problems;
  ResolverFileProblems(config.resolver(), "resolver", &problems);
  common::CheckTlsServerFiles(config.tls(), "tls", &problems);
  return problems;
}

absl::StatusOr<v1::PerspectiveConfig> LoadPerspectiveConfig(const std::string& path,
                                                            bool force_insecure_plaintext) {
  v1::PerspectiveConfig config;
  absl::Status parsed = common::LoadTextProtoFile(path, &config);
  if (!parsed.ok()) return parsed;
  if (force_insecure_plaintext) config.mutable_tls()->set_insecure_plaintext(true);
  std::vector<std::string> problems = PerspectiveConfigProblems(config);
  ApplyPerspectiveDefaults(&config);
  for (std::string& p : PerspectiveConfigFileProblems(config)) problems.push_back(std::move(p));
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", problems.size(),
                                                   problems.size() == 1 ? " problem" : " problems",
                                                   ":\n  ", absl::StrJoin(problems, "\n  ")));
  }
  return config;
}

absl::Duration LookupTimeout(const v1::PerspectiveConfig& config) {
  if (!config.resolver().has_lookup_timeout()) return kDefaultLookupTimeout;
  return common::DurationFromProto(config.resolver().lookup_timeout()).value_or(kDefaultLookupTimeout);
}

absl::Duration ShutdownGrace(const v1::PerspectiveConfig& config) {
  if (!config.has_shutdown_grace()) return kDefaultShutdownGrace;
  return common::DurationFromProto(config.shutdown_grace()).value_or(kDefaultShutdownGrace);
}

}  // namespace vantage::perspective
