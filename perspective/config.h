// Configuration of `vantage-perspective` (vantage.v1.PerspectiveConfig in
// proto/config.proto): loading, defaults in one place, and validation that
// reports every problem at once (STYLE.md), each naming the field path and
// the rule it breaks.
#ifndef VANTAGE_PERSPECTIVE_CONFIG_H_
#define VANTAGE_PERSPECTIVE_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"

namespace vantage::perspective {

// Defaults (proto/config.proto documents the same values).
inline constexpr absl::Duration kDefaultLookupTimeout = absl::Seconds(5);
inline constexpr absl::Duration kMinLookupTimeout = absl::Milliseconds(100);
inline constexpr absl::Duration kMaxLookupTimeout = absl::Seconds(60);
inline constexpr uint32_t kDefaultMaxConcurrentLookups = 1024;
inline constexpr uint32_t kMaxMaxConcurrentLookups = 100000;
inline constexpr uint32_t kDefaultInfraCacheMaxRttMs = 2000;
inline constexpr uint32_t kMinInfraCacheMaxRttMs = 50;
inline constexpr absl::Duration kDefaultShutdownGrace = absl::Seconds(5);
inline constexpr absl::Duration kMaxShutdownGrace = absl::Minutes(10);
// Debian's dns-root-data trust anchor for the IANA root (SPEC.md 5).
inline constexpr char kProductionTrustAnchorFile[] = "/usr/share/dns/root.key";

// ResolverConfigProblems appends the problems of a ResolverConfig, fields
// named "<prefix>.<field>" (shared with the VA's primary_resolver). Pure.
void ResolverConfigProblems(const v1::ResolverConfig& resolver, absl::string_view prefix,
                            std::vector<std::string>* problems);

// ResolverFileProblems reads the files a ResolverConfig names (trust anchor:
// readable, not empty, with a DS or DNSKEY record; root hints: readable) and
// appends what is wrong, fields named "<prefix>.<field>".
void ResolverFileProblems(const v1::ResolverConfig& resolver, absl::string_view prefix,
                          std::vector<std::string>* problems);

// PerspectiveConfigProblems lists every problem of `config` (empty = valid).
// Unset optional fields mean "the default". Pure: no file access.
std::vector<std::string> PerspectiveConfigProblems(const v1::PerspectiveConfig& config);

// ValidatePerspectiveConfig is PerspectiveConfigProblems as a status:
// INVALID_ARGUMENT listing every problem ("; "-separated).
absl::Status ValidatePerspectiveConfig(const v1::PerspectiveConfig& config);

// ApplyPerspectiveDefaults fills every unset optional field with its default
// (the only place defaults are decided). Idempotent.
void ApplyPerspectiveDefaults(v1::PerspectiveConfig* config);

// PerspectiveConfigFileProblems reads the files the config names (trust
// anchor, root hints, TLS certificate/key/CA) and lists what is wrong with
// them: unreadable, empty, no DS/DNSKEY record in the trust anchor, key not
// matching the certificate, expired certificate...
std::vector<std::string> PerspectiveConfigFileProblems(const v1::PerspectiveConfig& config);

// LoadPerspectiveConfig parses the textproto at `path`, applies
// `force_insecure_plaintext` (the binary's --insecure flag) and the
// defaults, then validates it and its files. INVALID_ARGUMENT listing every
// problem, one per line, when anything is wrong.
absl::StatusOr<v1::PerspectiveConfig> LoadPerspectiveConfig(const std::string& path,
                                                            bool force_insecure_plaintext);

// LookupTimeout / ShutdownGrace read the (defaulted) durations.
absl::Duration LookupTimeout(const v1::PerspectiveConfig& config);
absl::Duration ShutdownGrace(const v1::PerspectiveConfig& config);

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_CONFIG_H_
