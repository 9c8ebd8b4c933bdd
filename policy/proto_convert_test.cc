#include "policy/proto_convert.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/record.h"

namespace vantage::policy {
namespace {

constexpr char kHashFqdn[] =
    "https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw";

VerdictContext Context() {
  VerdictContext c;
  c.issuers = {"authority.example"};
  c.now = absl::FromUnixSeconds(1790000000);
  c.identifier = {"example.com", false};
  c.account_url = "https://ca.example/acct/123";
  c.thumbprints = {"NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"};
  c.hash_prefix = "https://ca.example/account-hash/";
  return c;
}

TEST(ProtoConvert, ObservationToEvidenceAndResult) {
  v1::TxtObservation txt;
  txt.add_records()->add_strings("other.example; accounturi=x");
  v1::TxtRecord* rec = txt.add_records();
  rec->add_strings("authority.example; accounturi=https://ca.example/account-hash/");
  rec->add_strings("sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw; persistUntil=1790000100");
  const std::vector<TxtRr> rrset = RrsetFromProto(txt);
  ASSERT_EQ(rrset.size(), 2u);
  ASSERT_EQ(rrset[1].size(), 2u);

  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(Context(), rrset);
  ASSERT_TRUE(v.ok());
  v1::PerspectiveEvidence ev;
  VerdictToEvidence(*v, &ev);
  EXPECT_EQ(ev.outcome(), v1::OUTCOME_VALID);
  EXPECT_FALSE(ev.has_problem());
  EXPECT_EQ(ev.matched_accounturi(), kHashFqdn);
  ASSERT_EQ(ev.records_size(), 2);
  EXPECT_EQ(ev.records(0).verdict(), v1::RECORD_VERDICT_IGNORED);
  EXPECT_EQ(ev.records(1).verdict(), v1::RECORD_VERDICT_VALID);
  EXPECT_EQ(ev.records(1).index(), 1);
  EXPECT_EQ(ev.records(1).persist_until(), 1790000100);
  EXPECT_EQ(ev.records(1).accounturi(), kHashFqdn);

  v1::ValidationResult r;
  VerdictToResult(*v, &r);
  EXPECT_EQ(r.outcome(), v1::OUTCOME_VALID);
  EXPECT_EQ(r.matched_record().index(), 1);
  EXPECT_EQ(r.matched_key().thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(r.matched_key().key_index(), 0);
  EXPECT_FALSE(r.matched_key().domain_independent());
  EXPECT_EQ(r.matched_key().hash_alg(), "sha-256");
  EXPECT_EQ(r.valid_until().seconds(), 1790000100);
}

TEST(ProtoConvert, RecordValueTextIsPrintable) {
  RecordResult record;
  record.value = std::string("ca.example; x=\"a\\b\"\x01\xff\0", 22);
  const v1::RecordResult r = RecordResultToProto(record);
  EXPECT_EQ(r.value(), record.value);
  EXPECT_EQ(r.value_text(), "ca.example; x=\\\"a\\\\b\\\"\\001\\255\\000");
}

TEST(ProtoConvert, FailureCarriesProblem) {
  absl::StatusOr<RrsetVerdict> v = EvaluateRrset(Context(), {{"authority.example; accounturi=;"}});
  ASSERT_TRUE(v.ok());
  v1::ValidationResult r;
  VerdictToResult(*v, &r);
  EXPECT_EQ(r.outcome(), v1::OUTCOME_MALFORMED);
  EXPECT_EQ(r.problem().type(), "urn:ietf:params:acme:error:malformed");
  EXPECT_THAT(r.problem().detail(), ::testing::HasSubstr("accounturi is empty"));
  EXPECT_FALSE(r.has_matched_record());
  EXPECT_FALSE(r.has_valid_until());
  v1::PerspectiveEvidence ev;
  VerdictToEvidence(*v, &ev);
  EXPECT_EQ(ev.records(0).verdict(), v1::RECORD_VERDICT_MALFORMED);
  EXPECT_EQ(ev.matched_accounturi(), "");
}

TEST(ProtoConvert, Enums) {
  EXPECT_EQ(OutcomeToProto(Outcome::kUnauthorized), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_EQ(RecordVerdictToProto(RecordVerdict::kMalformed), v1::RECORD_VERDICT_MALFORMED);
  EXPECT_EQ(AccountUriModeFromProto(v1::ACCOUNT_URI_MODE_UNSPECIFIED), AccountUriMode::kHashed);
  EXPECT_EQ(AccountUriModeFromProto(v1::ACCOUNT_URI_MODE_LEGACY_RAW), AccountUriMode::kLegacyRaw);
  EXPECT_EQ(AccountUriModeFromProto(static_cast<v1::AccountUriMode>(77)), AccountUriMode::kHashed);
}

TEST(ProtoConvert, RirsAndQuorum) {
  for (Rir r : {Rir::kArin, Rir::kRipe, Rir::kApnic, Rir::kLacnic, Rir::kAfrinic}) {
    EXPECT_EQ(*RirFromProto(RirToProto(r)), r);
  }
  EXPECT_FALSE(RirFromProto(v1::RIR_UNSPECIFIED).ok());
  EXPECT_FALSE(RirFromProto(static_cast<v1::Rir>(99)).ok());
  const QuorumDecision d =
      DecideQuorum({{"a", Rir::kArin, RemoteState::kCorroborated},
                    {"b", Rir::kRipe, RemoteState::kCorroborated},
                    {"c", Rir::kApnic, RemoteState::kNotCorroborated}},
                   absl::FromUnixSeconds(1750000000));  // 2025-06-15: 2 remotes required
  const v1::Quorum q = QuorumToProto(d);
  EXPECT_EQ(q.corroborated(), 2);
  EXPECT_EQ(q.remotes(), 3);
  EXPECT_EQ(q.required(), 2);
  ASSERT_EQ(q.rirs_size(), 2);
  EXPECT_EQ(q.rirs(0), v1::RIR_ARIN);
  EXPECT_EQ(q.rirs(1), v1::RIR_RIPE);
  EXPECT_TRUE(q.met());
  EXPECT_EQ(q.summary(), "2/3 (ARIN, RIPE)");
}

TEST(ProtoConvert, MinRemotesRules) {
  v1::MpicConfig mpic;
  EXPECT_TRUE(MinRemotesRulesFromProto(mpic).empty());
  v1::MinRemotesRule* r = mpic.add_min_remotes();
  r->mutable_effective()->set_seconds(1700000000);
  r->set_min_remotes(3);
  const std::vector<MinRemotesRule> rules = MinRemotesRulesFromProto(mpic);
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].effective, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(rules[0].min_remotes, 3);
  EXPECT_EQ(MinRemotesRequired(absl::FromUnixSeconds(1700000000), rules), 3);
}

TEST(ProtoConvert, CaaObservation) {
  CaaRequest req;
  req.issuers = {"authority.example"};
  req.account_url = "https://ca.example/acct/123";
  v1::CaaObservation caa;
  caa.set_complete(false);
  caa.set_relevant_step(-1);
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kForbid);
  caa.set_complete(true);
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kPermit);
  caa.set_relevant_step(1);
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kForbid);  // out of range
  caa.add_steps();                                    // www.example.com: nothing
  v1::CaaRecord* r = caa.add_steps()->add_records();  // example.com
  r->set_tag("issue");
  r->set_value("other.example");
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kForbid);
  r->set_value("authority.example");
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kPermit);
  r->set_flags(256);
  EXPECT_EQ(EvaluateCaaObservation(caa, req).decision, CaaDecision::kForbid);
}

TEST(ProtoConvert, TimestampClamps) {
  EXPECT_EQ(TimeToProto(absl::FromUnixSeconds(INT64_MAX)).seconds(), 253402300799);
  EXPECT_EQ(TimeToProto(absl::InfiniteFuture()).seconds(), 253402300799);
  EXPECT_EQ(TimeToProto(absl::InfinitePast()).seconds(), -62135596800);
  const google::protobuf::Timestamp ts =
      TimeToProto(absl::FromUnixSeconds(5) + absl::Nanoseconds(7));
  EXPECT_EQ(ts.seconds(), 5);
  EXPECT_EQ(ts.nanos(), 7);
}

}  // namespace
}  // namespace vantage::policy
