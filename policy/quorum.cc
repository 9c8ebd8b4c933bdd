#include "policy/quorum.h"

#include <algorithm>
#include <array>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

constexpr std::array<Rir, 5> kAllRirs = {Rir::kArin, Rir::kRipe, Rir::kApnic, Rir::kLacnic,
                                         Rir::kAfrinic};

absl::Time Utc(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

std::string FormatDay(absl::Time t) { return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone()); }

std::string RirList(const std::vector<Rir>& rirs) {
  return absl::StrJoin(rirs, ", ",
                       [](std::string* out, Rir r) { absl::StrAppend(out, RirName(r)); });
}

// DistinctRirs of the remotes whose state is in `states`, in enum order.
std::vector<Rir> DistinctRirs(absl::Span<const RemoteStatus> remotes,
                              std::initializer_list<RemoteState> states) {
  std::vector<Rir> out;
  for (Rir rir : kAllRirs) {
    for (const RemoteStatus& r : remotes) {
      if (r.rir == rir && std::find(states.begin(), states.end(), r.state) != states.end()) {
        out.push_back(rir);
        break;
      }
    }
  }
  return out;
}

}  // namespace

absl::string_view RirName(Rir rir) {
  switch (rir) {
    case Rir::kArin:
      return "ARIN";
    case Rir::kRipe:
      return "RIPE";
    case Rir::kApnic:
      return "APNIC";
    case Rir::kLacnic:
      return "LACNIC";
    case Rir::kAfrinic:
      return "AFRINIC";
  }
  return "UNKNOWN";
}

absl::StatusOr<Rir> ParseRir(absl::string_view name) {
  for (Rir rir : kAllRirs) {
    if (absl::EqualsIgnoreCase(name, RirName(rir))) return rir;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "RIR ", internal::Quote(name), " is not one of ARIN, RIPE, APNIC, LACNIC, AFRINIC"));
}

absl::Span<const MinRemotesRule> DefaultMinRemotesRules() {
  // SPEC.md 6 (BR 3.2.2.9 phase-in), effective at 00:00 UTC of each date.
  static const std::array<MinRemotesRule, 4> kRules = {{
      {Utc(2025, 3, 15), 2},
      {Utc(2026, 3, 15), 3},
      {Utc(2026, 6, 15), 4},
      {Utc(2026, 12, 15), 5},
  }};
  return kRules;
}

absl::Status ValidateMinRemotesRules(absl::Span<const MinRemotesRule> rules) {
  std::vector<MinRemotesRule> sorted(rules.begin(), rules.end());
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].min_remotes < 0 || rules[i].min_remotes > 32) {
      return absl::InvalidArgumentError(
          absl::StrFormat("min_remotes[%d]: %d remotes is outside 0..32", i, rules[i].min_remotes));
    }
  }
  std::sort(sorted.begin(), sorted.end(), [](const MinRemotesRule& a, const MinRemotesRule& b) {
    return a.effective < b.effective;
  });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i].effective == sorted[i - 1].effective) {
      return absl::InvalidArgumentError(
          absl::StrCat("min_remotes: two rules take effect at ",
                       absl::FormatTime(sorted[i].effective, absl::UTCTimeZone())));
    }
    if (sorted[i].min_remotes < sorted[i - 1].min_remotes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "min_remotes: the rule effective %s lowers the minimum from %d to %d; BR 3.2.2.9 only "
          "ever raises it",
          FormatDay(sorted[i].effective), sorted[i - 1].min_remotes, sorted[i].min_remotes));
    }
  }
  return absl::OkStatus();
}

int MinRemotesRequired(absl::Time now, absl::Span<const MinRemotesRule> rules) {
  if (rules.empty()) rules = DefaultMinRemotesRules();
  const MinRemotesRule* best = nullptr;
  for (const MinRemotesRule& r : rules) {
    if (r.effective <= now && (best == nullptr || r.effective > best->effective)) best = &r;
  }
  return best == nullptr ? 0 : best->min_remotes;
}

int AllowedNonCorroborations(int remotes) {
  // BR 3.2.2.9 table: 2-5 remotes => 1; 6 or more => 2.
  if (remotes >= 6) return 2;
  if (remotes >= 2) return 1;
  return 0;
}

QuorumDecision DecideQuorum(absl::Span<const RemoteStatus> remotes, absl::Time now,
                            absl::Span<const MinRemotesRule> rules) {
  QuorumDecision q;
  q.remotes = static_cast<int>(remotes.size());
  q.min_remotes = MinRemotesRequired(now, rules);
  q.allowed_failures = AllowedNonCorroborations(q.remotes);
  q.required = q.remotes - q.allowed_failures;
  for (const RemoteStatus& r : remotes) {
    switch (r.state) {
      case RemoteState::kPending:
        ++q.pending;
        break;
      case RemoteState::kCorroborated:
        ++q.corroborated;
        break;
      case RemoteState::kNotCorroborated:
        ++q.not_corroborated;
        break;
    }
  }
  q.rirs = DistinctRirs(remotes, {RemoteState::kCorroborated});
  q.summary = absl::StrCat(q.corroborated, "/", q.remotes);
  if (!q.rirs.empty()) absl::StrAppend(&q.summary, " (", RirList(q.rirs), ")");

  // A handful of remotes: comparing every pair beats building a hash set
  // (the VA decides this on every answer of every validation).
  for (size_t i = 1; i < remotes.size(); ++i) {
    const RemoteStatus& r = remotes[i];
    const bool seen = std::any_of(remotes.begin(), remotes.begin() + i,
                                  [&r](const RemoteStatus& e) { return e.id == r.id; });
    if (seen) {
      q.decided = true;
      q.met = false;
      q.reason = absl::StrCat("remote perspective id ", internal::Quote(r.id),
                              " is listed twice: one perspective must never count twice");
      return q;
    }
  }
  if (q.remotes < q.min_remotes) {
    q.decided = true;
    q.met = false;
    q.reason = absl::StrFormat(
        "%d remote perspective(s) used; BR 3.2.2.9 requires at least %d at %s", q.remotes,
        q.min_remotes, absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now, absl::UTCTimeZone()));
    return q;
  }
  if (q.remotes == 0) {
    // Only reachable while the rule in force requires no remote.
    q.decided = true;
    q.met = true;
    q.reason = "no remote perspectives, and none is required at this date (BR 3.2.2.9 phase-in)";
    return q;
  }
  const std::vector<Rir> possible_rirs =
      DistinctRirs(remotes, {RemoteState::kCorroborated, RemoteState::kPending});
  const bool count_met = q.corroborated >= q.required;
  const bool rirs_met = q.rirs.size() >= 2;
  const bool count_possible = q.corroborated + q.pending >= q.required;
  const bool rirs_possible = possible_rirs.size() >= 2;
  q.met = count_met && rirs_met;
  q.decided = q.met || !count_possible || !rirs_possible;
  const std::string rule = absl::StrFormat(
      "%d of %d remote perspectives must corroborate (at most %d may not; BR 3.2.2.9) from at "
      "least 2 distinct RIRs",
      q.required, q.remotes, q.allowed_failures);
  if (q.met) {
    q.reason = absl::StrFormat("quorum met: %s; %s", q.summary, rule);
  } else if (!count_possible) {
    q.reason = absl::StrFormat(
        "quorum not met: %d remote perspective(s) did not corroborate, more than the %d allowed; "
        "%s",
        q.not_corroborated, q.allowed_failures, rule);
  } else if (!rirs_possible) {
    q.reason = absl::StrFormat(
        "quorum not met: the corroborating%s remote perspectives span only %s; %s",
        q.pending > 0 ? " and pending" : "",
        possible_rirs.empty() ? std::string("no RIR") : RirList(possible_rirs), rule);
  } else {
    q.reason =
        absl::StrFormat("not decided yet: %s so far, %d pending; %s", q.summary, q.pending, rule);
  }
  return q;
}

}  // namespace vantage::policy
