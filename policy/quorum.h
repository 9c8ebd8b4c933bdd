// Quorum: Multi-Perspective Issuance Corroboration (BR 3.2.2.9, SPEC.md 6)
// as pure functions. The primary perspective decides; remote perspectives
// corroborate. DecideQuorum says, from the remote answers so far, whether
// the outcome is already certain, so the VA can answer early (SPEC.md 6:
// "we answer as soon as the outcome is decided").
#ifndef VANTAGE_POLICY_QUORUM_H_
#define VANTAGE_POLICY_QUORUM_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace vantage::policy {

// Rir: the Regional Internet Registries (BR 3.2.2.9: corroborating remote
// perspectives must fall within the service regions of at least two).
enum class Rir { kArin, kRipe, kApnic, kLacnic, kAfrinic };

// RirName: "ARIN", "RIPE", "APNIC", "LACNIC", "AFRINIC".
absl::string_view RirName(Rir rir);
// ParseRir accepts those names, case-insensitively; INVALID_ARGUMENT else.
absl::StatusOr<Rir> ParseRir(absl::string_view name);

// MinRemotesRule: from `effective` on, at least `min_remotes` remote
// perspectives must be used.
struct MinRemotesRule {
  absl::Time effective;
  int min_remotes = 0;
};

// DefaultMinRemotesRules is the phase-in of SPEC.md 6 (BR 3.2.2.9), each
// effective at 00:00 UTC: 2 from 2025-03-15, 3 from 2026-03-15, 4 from
// 2026-06-15, 5 from 2026-12-15. Before the first date no remote is required
// (MinRemotesRequired returns 0): MPIC was not yet mandatory.
absl::Span<const MinRemotesRule> DefaultMinRemotesRules();

// ValidateMinRemotesRules: distinct effective times, min_remotes in 0..32,
// and a later rule never lowers the minimum (the BR only ever raises it).
// INVALID_ARGUMENT naming the rule index otherwise.
absl::Status ValidateMinRemotesRules(absl::Span<const MinRemotesRule> rules);

// MinRemotesRequired: min_remotes of the latest rule effective at or before
// `now`; 0 when none is. Empty `rules` means DefaultMinRemotesRules().
int MinRemotesRequired(absl::Time now, absl::Span<const MinRemotesRule> rules = {});

// AllowedNonCorroborations is the BR 3.2.2.9 quorum table:
//
//   | Number of distinct remote Network Perspectives used | Allowed non-corroborations |
//   | 2-5                                                   | 1                          |
//   | 6+                                                    | 2                          |
//
// 0 or 1 remotes: 0 (the table starts at 2; a single remote must corroborate,
// and still cannot satisfy the two-RIR rule on its own).
int AllowedNonCorroborations(int remotes);

// RemoteState: one remote perspective's contribution so far (SPEC.md 6).
enum class RemoteState {
  // kPending: no answer yet.
  kPending,
  // kCorroborated: it saw a passing record with the SAME accounturi value
  // the primary matched (and CAA permitted, when checked).
  kCorroborated,
  // kNotCorroborated: it answered otherwise, or timed out, failed in
  // transport, was cancelled, or its identity did not match configuration.
  kNotCorroborated,
};

// RemoteStatus: one configured remote perspective.
struct RemoteStatus {
  std::string id;
  Rir rir = Rir::kArin;
  RemoteState state = RemoteState::kPending;
};

// QuorumDecision is the result of DecideQuorum.
struct QuorumDecision {
  // True once no combination of the pending answers can change `met`.
  bool decided = false;
  // True when the count rule, the two-RIR rule and the minimum-remotes rule
  // are all met by the corroborations so far (never true on doubt).
  bool met = false;
  int remotes = 0;           // n: remote perspectives used
  int corroborated = 0;      // k
  int not_corroborated = 0;  // said fail or did not answer
  int pending = 0;
  int min_remotes = 0;       // the phase-in rule in force at `now`
  int allowed_failures = 0;  // AllowedNonCorroborations(n)
  int required = 0;          // n - allowed_failures
  // Distinct RIRs of the corroborating remotes, in enum order.
  std::vector<Rir> rirs;
  // "4/5 (ARIN, RIPE)": corroborated/remotes and the corroborators' RIRs.
  std::string summary;
  // Why met, not met, or not yet decided, citing BR 3.2.2.9.
  std::string reason;
};

// DecideQuorum applies BR 3.2.2.9 (SPEC.md 6) to the remote perspectives'
// states at `now` under `rules` (empty = DefaultMinRemotesRules()):
//  - fewer remotes than MinRemotesRequired => decided, not met;
//  - a remote id listed twice => decided, not met (a configuration error
//    must never count one perspective twice);
//  - met when corroborated >= n - AllowedNonCorroborations(n) and the
//    corroborators span >= 2 distinct RIRs; no remotes at all is met only
//    while no remote is required (before 2025-03-15 under the default rules);
//  - decided when met, or when even all pending remotes corroborating could
//    not reach the count or add a second RIR.
QuorumDecision DecideQuorum(absl::Span<const RemoteStatus> remotes, absl::Time now,
                            absl::Span<const MinRemotesRule> rules = {});

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_QUORUM_H_
