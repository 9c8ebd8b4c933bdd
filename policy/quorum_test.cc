// Table tests for BR 3.2.2.9 (SPEC.md 6): the quorum table, the two-RIR
// rule, the minimum-remotes phase-in, and early decisions.
#include "policy/quorum.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

// A date when the default rules require 2 remotes, and one requiring 5.
const absl::Time k2025 = Day(2025, 6, 1);
const absl::Time k2027 = Day(2027, 1, 1);

constexpr RemoteState C = RemoteState::kCorroborated;
constexpr RemoteState F = RemoteState::kNotCorroborated;
constexpr RemoteState P = RemoteState::kPending;
constexpr Rir ARIN = Rir::kArin;
constexpr Rir RIPE = Rir::kRipe;
constexpr Rir APNIC = Rir::kApnic;
constexpr Rir LACNIC = Rir::kLacnic;
constexpr Rir AFRINIC = Rir::kAfrinic;

struct Remote {
  Rir rir;
  RemoteState state;
};

std::vector<RemoteStatus> Make(const std::vector<Remote>& rs) {
  std::vector<RemoteStatus> out;
  for (size_t i = 0; i < rs.size(); ++i) {
    out.push_back({absl::StrCat("r", i), rs[i].rir, rs[i].state});
  }
  return out;
}

struct QuorumCase {
  std::string name;
  absl::Time now;
  std::vector<Remote> remotes;
  bool decided;
  bool met;
  std::string summary;
  std::string reason;
};

void PrintTo(const QuorumCase& c, std::ostream* os) { *os << c.name; }

class QuorumTable : public ::testing::TestWithParam<QuorumCase> {};

TEST_P(QuorumTable, Decides) {
  const QuorumCase& c = GetParam();
  const QuorumDecision q = DecideQuorum(Make(c.remotes), c.now);
  EXPECT_EQ(q.decided, c.decided) << q.reason;
  EXPECT_EQ(q.met, c.met) << q.reason;
  EXPECT_EQ(q.summary, c.summary);
  EXPECT_THAT(q.reason, HasSubstr(c.reason));
  // Invariants: met implies decided; counts add up.
  if (q.met) {
    EXPECT_TRUE(q.decided);
  }
  EXPECT_EQ(q.corroborated + q.not_corroborated + q.pending, q.remotes);
  EXPECT_EQ(q.required, q.remotes - q.allowed_failures);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, QuorumTable,
    ::testing::Values(
        // The BR table rows: k failures of n remotes, the rest corroborating
        // from two RIRs.
        QuorumCase{"OneFailOf3Met",
                   k2025,
                   {{ARIN, C}, {RIPE, C}, {APNIC, F}},
                   true,
                   true,
                   "2/3 (ARIN, RIPE)",
                   "quorum met"},
        QuorumCase{"TwoFailOf3NotMet",
                   k2025,
                   {{ARIN, C}, {RIPE, F}, {APNIC, F}},
                   true,
                   false,
                   "1/3 (ARIN)",
                   "more than the 1 allowed"},
        QuorumCase{"OneFailOf5Met",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {RIPE, C}, {RIPE, C}, {APNIC, F}},
                   true,
                   true,
                   "4/5 (ARIN, RIPE)",
                   "4 of 5"},
        QuorumCase{"TwoFailOf5NotMet",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {RIPE, C}, {RIPE, F}, {APNIC, F}},
                   true,
                   false,
                   "3/5 (ARIN, RIPE)",
                   "more than the 1 allowed"},
        QuorumCase{"TwoFailOf6Met",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {RIPE, C}, {APNIC, C}, {LACNIC, F}, {AFRINIC, F}},
                   true,
                   true,
                   "4/6 (ARIN, RIPE, APNIC)",
                   "at most 2 may not"},
        QuorumCase{"ThreeFailOf6NotMet",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {RIPE, C}, {APNIC, F}, {LACNIC, F}, {AFRINIC, F}},
                   true,
                   false,
                   "3/6 (ARIN, RIPE)",
                   "more than the 2 allowed"},
        QuorumCase{"SingleRirNotMet",
                   k2025,
                   {{ARIN, C}, {ARIN, C}, {ARIN, C}},
                   true,
                   false,
                   "3/3 (ARIN)",
                   "span only ARIN"},
        QuorumCase{"SingleRirOf5AllAnswered",
                   k2027,
                   {{RIPE, C}, {RIPE, C}, {RIPE, C}, {RIPE, C}, {RIPE, C}},
                   true,
                   false,
                   "5/5 (RIPE)",
                   "span only RIPE"},
        QuorumCase{"AllCorroborate",
                   k2027,
                   {{ARIN, C}, {RIPE, C}, {APNIC, C}, {LACNIC, C}, {AFRINIC, C}},
                   true,
                   true,
                   "5/5 (ARIN, RIPE, APNIC, LACNIC, AFRINIC)",
                   "quorum met"},
        QuorumCase{"TwoRemotesBothNeededOneMayFail",
                   k2025,
                   {{ARIN, C}, {RIPE, F}},
                   true,
                   false,
                   "1/2 (ARIN)",
                   "span only ARIN"},
        QuorumCase{"TwoRemotesTwoRirs",
                   k2025,
                   {{ARIN, C}, {RIPE, C}},
                   true,
                   true,
                   "2/2 (ARIN, RIPE)",
                   "quorum met"},
        // Early decisions (SPEC.md 6: answer as soon as the outcome is certain).
        QuorumCase{"FourOfFiveTwoRirsFifthPendingDecidedMet",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {RIPE, C}, {RIPE, C}, {APNIC, P}},
                   true,
                   true,
                   "4/5 (ARIN, RIPE)",
                   "quorum met"},
        QuorumCase{"TwoFailuresOfFiveDecidedNotMet",
                   k2027,
                   {{ARIN, F}, {RIPE, F}, {APNIC, P}, {LACNIC, P}, {AFRINIC, P}},
                   true,
                   false,
                   "0/5",
                   "2 remote perspective(s) did not corroborate"},
        QuorumCase{"FourAllArinFifthRipePendingUndecided",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {ARIN, C}, {ARIN, C}, {RIPE, P}},
                   false,
                   false,
                   "4/5 (ARIN)",
                   "not decided yet"},
        QuorumCase{"FourAllArinFifthArinPendingDecided",
                   k2027,
                   {{ARIN, C}, {ARIN, C}, {ARIN, C}, {ARIN, C}, {ARIN, P}},
                   true,
                   false,
                   "4/5 (ARIN)",
                   "corroborating and pending remote perspectives span only ARIN"},
        QuorumCase{"AllPending",
                   k2027,
                   {{ARIN, P}, {RIPE, P}, {APNIC, P}, {LACNIC, P}, {AFRINIC, P}},
                   false,
                   false,
                   "0/5",
                   "5 pending"},
        QuorumCase{"OneFailRestPendingUndecided",
                   k2027,
                   {{ARIN, F}, {RIPE, P}, {APNIC, P}, {LACNIC, P}, {AFRINIC, P}},
                   false,
                   false,
                   "0/5",
                   "not decided yet"},
        QuorumCase{"ThreeOfFiveTwoPendingUndecided",
                   k2027,
                   {{ARIN, C}, {RIPE, C}, {RIPE, C}, {APNIC, P}, {LACNIC, P}},
                   false,
                   false,
                   "3/5 (ARIN, RIPE)",
                   "not decided yet"},
        QuorumCase{"OneFailOnePendingOf3Undecided",
                   k2025,
                   {{ARIN, C}, {RIPE, F}, {APNIC, P}},
                   false,
                   false,
                   "1/3 (ARIN)",
                   "not decided yet"},
        // Minimum remotes by date.
        QuorumCase{"TooFewRemotesFor2027",
                   k2027,
                   {{ARIN, C}, {RIPE, C}, {APNIC, C}, {LACNIC, C}},
                   true,
                   false,
                   "4/4 (ARIN, RIPE, APNIC, LACNIC)",
                   "requires at least 5"},
        QuorumCase{"NoRemotesIn2025", k2025, {}, true, false, "0/0", "requires at least 2"},
        QuorumCase{
            "NoRemotesBeforePhaseIn", Day(2025, 3, 14), {}, true, true, "0/0", "none is required"},
        QuorumCase{"OneRemoteBeforePhaseIn",
                   Day(2024, 1, 1),
                   {{ARIN, C}},
                   true,
                   false,
                   "1/1 (ARIN)",
                   "span only ARIN"}),
    [](const ::testing::TestParamInfo<QuorumCase>& info) { return info.param.name; });

TEST(DecideQuorum, DuplicateIdNeverCountsTwice) {
  std::vector<RemoteStatus> r = {{"a", ARIN, C}, {"b", RIPE, C}, {"a", ARIN, C}};
  const QuorumDecision q = DecideQuorum(r, k2025);
  EXPECT_TRUE(q.decided);
  EXPECT_FALSE(q.met);
  EXPECT_THAT(q.reason, HasSubstr("listed twice"));
}

TEST(DecideQuorum, ReportsCounts) {
  const QuorumDecision q = DecideQuorum(
      Make({{ARIN, C}, {RIPE, C}, {APNIC, F}, {LACNIC, P}, {AFRINIC, C}, {RIPE, C}}), k2027);
  EXPECT_EQ(q.remotes, 6);
  EXPECT_EQ(q.corroborated, 4);
  EXPECT_EQ(q.not_corroborated, 1);
  EXPECT_EQ(q.pending, 1);
  EXPECT_EQ(q.min_remotes, 5);
  EXPECT_EQ(q.allowed_failures, 2);
  EXPECT_EQ(q.required, 4);
  EXPECT_EQ(q.rirs, (std::vector<Rir>{ARIN, RIPE, AFRINIC}));
  EXPECT_TRUE(q.met);
}

// Exhaustive check of "decided" against brute force: for every assignment of
// states to 5 remotes over 3 RIRs, decided must be true exactly when all
// completions of the pending remotes give the same `met`.
TEST(DecideQuorum, DecidedMatchesBruteForce) {
  const std::vector<Rir> rirs = {ARIN, ARIN, RIPE, RIPE, APNIC};
  const RemoteState states[] = {P, C, F};
  for (int code = 0; code < 243; ++code) {
    std::vector<Remote> rs;
    int c = code;
    for (int i = 0; i < 5; ++i, c /= 3) rs.push_back({rirs[i], states[c % 3]});
    const QuorumDecision q = DecideQuorum(Make(rs), k2027);
    bool any_met = false, any_unmet = false;
    std::vector<size_t> pending;
    for (size_t i = 0; i < rs.size(); ++i) {
      if (rs[i].state == P) pending.push_back(i);
    }
    for (int m = 0; m < (1 << pending.size()); ++m) {
      std::vector<Remote> done = rs;
      for (size_t j = 0; j < pending.size(); ++j) done[pending[j]].state = (m >> j) & 1 ? C : F;
      const QuorumDecision final_q = DecideQuorum(Make(done), k2027);
      ASSERT_TRUE(final_q.decided);
      (final_q.met ? any_met : any_unmet) = true;
    }
    EXPECT_EQ(q.decided, !(any_met && any_unmet)) << "code " << code << ": " << q.reason;
    if (q.decided) {
      EXPECT_EQ(q.met, any_met) << "code " << code;
    }
  }
}

TEST(MinRemotesRequired, DefaultPhaseIn) {
  EXPECT_EQ(MinRemotesRequired(Day(2025, 3, 14) + absl::Hours(23)), 0);
  EXPECT_EQ(MinRemotesRequired(Day(2025, 3, 15)), 2);
  EXPECT_EQ(MinRemotesRequired(Day(2026, 3, 14)), 2);
  EXPECT_EQ(MinRemotesRequired(Day(2026, 3, 15)), 3);
  EXPECT_EQ(MinRemotesRequired(Day(2026, 6, 15)), 4);
  EXPECT_EQ(MinRemotesRequired(Day(2026, 12, 14)), 4);
  EXPECT_EQ(MinRemotesRequired(Day(2026, 12, 15)), 5);
  EXPECT_EQ(MinRemotesRequired(Day(2030, 1, 1)), 5);
  EXPECT_EQ(MinRemotesRequired(absl::InfinitePast()), 0);
}

TEST(MinRemotesRequired, CustomRulesInAnyOrder) {
  const std::vector<MinRemotesRule> rules = {{Day(2030, 1, 1), 7}, {Day(2020, 1, 1), 1}};
  EXPECT_EQ(MinRemotesRequired(Day(2019, 1, 1), rules), 0);
  EXPECT_EQ(MinRemotesRequired(Day(2021, 1, 1), rules), 1);
  EXPECT_EQ(MinRemotesRequired(Day(2031, 1, 1), rules), 7);
  EXPECT_TRUE(ValidateMinRemotesRules(rules).ok());
  EXPECT_TRUE(ValidateMinRemotesRules(DefaultMinRemotesRules()).ok());
}

TEST(ValidateMinRemotesRules, Rejects) {
  EXPECT_THAT(
      std::string(ValidateMinRemotesRules({{Day(2020, 1, 1), 3}, {Day(2021, 1, 1), 2}}).message()),
      HasSubstr("lowers the minimum from 3 to 2"));
  EXPECT_THAT(
      std::string(ValidateMinRemotesRules({{Day(2020, 1, 1), 3}, {Day(2020, 1, 1), 4}}).message()),
      HasSubstr("two rules take effect"));
  EXPECT_THAT(std::string(ValidateMinRemotesRules({{Day(2020, 1, 1), -1}}).message()),
              HasSubstr("min_remotes[0]"));
  EXPECT_THAT(std::string(ValidateMinRemotesRules({{Day(2020, 1, 1), 33}}).message()),
              HasSubstr("outside 0..32"));
}

TEST(AllowedNonCorroborations, BrTable) {
  EXPECT_EQ(AllowedNonCorroborations(0), 0);
  EXPECT_EQ(AllowedNonCorroborations(1), 0);
  for (int n = 2; n <= 5; ++n) EXPECT_EQ(AllowedNonCorroborations(n), 1) << n;
  for (int n = 6; n <= 20; ++n) EXPECT_EQ(AllowedNonCorroborations(n), 2) << n;
}

TEST(Rir, NamesRoundTrip) {
  for (Rir r : {ARIN, RIPE, APNIC, LACNIC, AFRINIC}) {
    EXPECT_EQ(*ParseRir(RirName(r)), r);
  }
  EXPECT_EQ(*ParseRir("ripe"), RIPE);
  EXPECT_FALSE(ParseRir("RIPE NCC").ok());
  EXPECT_FALSE(ParseRir("").ok());
}

}  // namespace
}  // namespace vantage::policy
