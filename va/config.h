// Configuration of `vantage-va` (vantage.v1.VaConfig in proto/config.proto):
// defaults in one place, and validation that reports every problem at once,
// each naming the field path and the rule (STYLE.md).
#ifndef VANTAGE_VA_CONFIG_H_
#define VANTAGE_VA_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "va/validation_authority.h"

namespace vantage::va {

inline constexpr absl::Duration kDefaultValidationDeadline = absl::Seconds(10);
inline constexpr absl::Duration kDefaultPerspectiveDeadline = absl::Seconds(5);
inline constexpr absl::Duration kDefaultVaShutdownGrace = absl::Seconds(10);

// VaConfigProblems lists every problem of `config` as of `now` (the BR
// 3.2.2.9 minimum number of remotes depends on the date). Pure: no file
// access. Empty = valid.
std::vector<std::string> VaConfigProblems(const v1::VaConfig& config, absl::Time now);

// ApplyVaDefaults fills unset optional fields (idempotent).
void ApplyVaDefaults(v1::VaConfig* config);

// VaConfigFileProblems reads the files the config names (TLS certificates
// and keys, CA bundles, trust anchor, root hints) and lists what is wrong.
std::vector<std::string> VaConfigFileProblems(const v1::VaConfig& config);

// LoadVaConfig parses the textproto at `path`, applies the overrides (the
// binary's --accounts and --insecure flags), the defaults, and validates it
// and its files: INVALID_ARGUMENT listing every problem, one per line.
struct VaConfigOverrides {
  // Non-empty: replaces account_store.
  std::string account_store;
  // Plaintext on every hop (RA-facing server and perspective channels);
  // validation still refuses it on non-loopback addresses.
  bool insecure_plaintext = false;
};
absl::StatusOr<v1::VaConfig> LoadVaConfig(const std::string& path, absl::Time now,
                                          const VaConfigOverrides& overrides);

// VaOptionsFromConfig maps a validated, defaulted config to the options of
// ValidationAuthority.
ValidationAuthority::Options VaOptionsFromConfig(const v1::VaConfig& config);

// Durations read from a defaulted config.
absl::Duration ShutdownGrace(const v1::VaConfig& config);

}  // namespace vantage::va

#endif  // VANTAGE_VA_CONFIG_H_
