// Unit tests of the VA's decision flow: fake perspectives (one class under
// test), a real SQLite account store file, a real audit file. The
// multi-process tests with real DNS and mTLS are in tests/va/.
#include "va/validation_authority.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "perspective/fake_observer.h"
#include "policy/account_hash.h"
#include "va/account_store_factory.h"
#include "va/account_store_testing.h"

namespace vantage::va {
namespace {

using ::testing::HasSubstr;
using perspective::FakeObserver;

constexpr char kIssuer[] = "ca.example";
constexpr char kPrefix[] = "https://ca.example/account-hash/";
constexpr char kVictimUrl[] = "https://ca.example/acct/1";
constexpr char kAttackerUrl[] = "https://ca.example/acct/666";
constexpr char kDomain[] = "example.com";

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// After 2026-12-15 the BR requires 5 remotes (SPEC.md 6).
absl::Time Now() {
  return absl::FromCivil(absl::CivilSecond(2027, 1, 10, 12, 0, 0), absl::UTCTimeZone());
}

std::string Hashed(absl::string_view d, const std::string& thumb, absl::string_view url) {
  return policy::HashedAccountUri(kPrefix, policy::HashAlg::kSha256, d, thumb, url).value();
}

std::string RecordFor(const std::string& accounturi, absl::string_view extra = "") {
  return absl::StrCat(kIssuer, "; accounturi=", accounturi, extra);
}

v1::Observation TxtObservation(const std::string& id, v1::Rir rir,
                               const std::vector<std::string>& records,
                               v1::DnssecState dnssec = v1::DNSSEC_STATE_SECURE) {
  v1::Observation o;
  o.set_perspective_id(id);
  o.set_rir(rir);
  auto* txt = o.mutable_txt();
  txt->mutable_lookup()->set_qname(absl::StrCat("_validation-persist.", kDomain));
  txt->mutable_lookup()->set_qtype(16);
  txt->mutable_lookup()->set_status(v1::LOOKUP_STATUS_ANSWERED);
  txt->mutable_lookup()->set_dnssec_state(dnssec);
  if (dnssec == v1::DNSSEC_STATE_BOGUS) txt->mutable_lookup()->set_why_bogus("signature expired");
  for (const auto& r : records) txt->add_records()->add_strings(r);
  return o;
}

struct Remote {
  std::string id;
  v1::Rir rir;
};

const std::vector<Remote> kFiveRemotes = {{"r1", v1::RIR_ARIN},
                                          {"r2", v1::RIR_RIPE},
                                          {"r3", v1::RIR_APNIC},
                                          {"r4", v1::RIR_ARIN},
                                          {"r5", v1::RIR_RIPE}};

// A store that is down.
class DownStore : public AccountStore {
 public:
  absl::StatusOr<Account> Lookup(absl::string_view) override {
    return absl::UnavailableError("connection refused");
  }
  absl::Status Add(absl::string_view, const AccountKey&) override { return absl::OkStatus(); }
  absl::Status RotateKey(absl::string_view, const AccountKey&) override {
    return absl::OkStatus();
  }
  absl::Status SetStatus(absl::string_view, AccountStatus) override { return absl::OkStatus(); }
};

class ValidationAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    db_path_ = TmpPath(name + ".db");
    audit_path_ = TmpPath(name + ".jsonl");
    std::remove(db_path_.c_str());
    std::remove(audit_path_.c_str());
    store_ = OpenAccountStore("sqlite:" + db_path_, StoreOptions()).value();
    ASSERT_TRUE(store_->Add(kVictimUrl, testing::TestKey(1)).ok());
    ASSERT_TRUE(store_->Add(kAttackerUrl, testing::TestKey(2)).ok());
    v1::AuditConfig audit;
    audit.set_path(audit_path_);
    audit.set_fsync(v1::AuditConfig::FSYNC_NEVER);
    audit_ = FileAuditSink::Create(audit).value();
    primary_.SetResponder(Answer("primary", v1::RIR_ARIN, VictimRecords()));
    for (const auto& r : kFiveRemotes) {
      remotes_.push_back(std::make_unique<FakeObserver>());
      remotes_.back()->SetResponder(Answer(r.id, r.rir, VictimRecords()));
    }
  }

  std::vector<std::string> VictimRecords() {
    return {RecordFor(Hashed(kDomain, testing::TestThumbprint(1), kVictimUrl))};
  }

  static FakeObserver::Responder Answer(std::string id, v1::Rir rir,
                                        std::vector<std::string> records,
                                        v1::DnssecState dnssec = v1::DNSSEC_STATE_SECURE) {
    return [=](const v1::ObserveRequest&) -> absl::StatusOr<v1::Observation> {
      return TxtObservation(id, rir, records, dnssec);
    };
  }

  absl::StatusOr<std::unique_ptr<ValidationAuthority>> MakeVa(size_t remotes = 5,
                                                               AccountStore* store = nullptr) {
    ValidationAuthority::Options options;
    options.va_id = "va-test";
    options.issuer_domain_names = {kIssuer};
    options.account_hash_prefix = kPrefix;
    ValidationAuthority::Deps deps;
    deps.primary = {"primary", v1::RIR_ARIN, &primary_};
    for (size_t i = 0; i < remotes; ++i) {
      deps.remotes.push_back({kFiveRemotes[i].id, kFiveRemotes[i].rir, remotes_[i].get()});
    }
    deps.store = store ? store : store_.get();
    deps.audit = audit_.get();
    deps.clock = &clock_;
    deps.registry = &registry_;
    return ValidationAuthority::Create(options, deps);
  }

  absl::StatusOr<v1::ValidationResult> Validate(ValidationAuthority& va,
                                                const std::string& identifier,
                                                const std::string& account_url) {
    v1::ValidatePersistRequest request;
    request.set_identifier(identifier);
    request.set_account_url(account_url);
    absl::Notification done;
    absl::StatusOr<v1::ValidationResult> out;
    va.Validate(request, absl::InfiniteFuture(), "ra.test",
                [&](absl::StatusOr<v1::ValidationResult> r) {
                  out = std::move(r);
                  done.Notify();
                });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    return out;
  }

  std::vector<v1::AuditRecord> AuditRecords() {
    EXPECT_TRUE(audit_->Flush().ok());
    std::ifstream in(audit_path_);
    std::vector<v1::AuditRecord> out;
    for (std::string line; std::getline(in, line);) {
      v1::AuditRecord r;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &r).ok()) << line;
      out.push_back(r);
    }
    return out;
  }

  std::string db_path_, audit_path_;
  std::unique_ptr<AccountStore> store_;
  std::unique_ptr<FileAuditSink> audit_;
  FakeObserver primary_;
  std::vector<std::unique_ptr<FakeObserver>> remotes_;
  common::FakeClock clock_{Now()};
  prometheus::Registry registry_;
};

TEST_F(ValidationAuthorityTest, ValidWhenEveryPerspectiveCorroborates) {
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID) << result->problem().detail();
  // The answer goes out at 4/5 (decided: BR 3.2.2.9 allows one failure of
  // five); the fifth is still running then.
  EXPECT_EQ(result->quorum().corroborated(), 4);
  EXPECT_EQ(result->quorum().remotes(), 5);
  EXPECT_TRUE(result->quorum().met());
  EXPECT_EQ(result->matched_key().thumbprint(), testing::TestThumbprint(1));
  EXPECT_EQ(result->matched_key().key_index(), 0);
  // SPEC.md 4: no persistUntil -> now + 10 days.
  EXPECT_EQ(result->valid_until().seconds(), absl::ToUnixSeconds(Now() + absl::Hours(240)));
  ASSERT_EQ(result->perspectives_size(), 6);
  EXPECT_TRUE(result->perspectives(0).primary());
  for (int i = 1; i < 5; ++i) EXPECT_TRUE(result->perspectives(i).corroborates());
  EXPECT_EQ(result->perspectives(5).answer(), v1::PERSPECTIVE_ANSWER_PENDING);
  va.reset();  // drains
  auto audit = AuditRecords();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].result().outcome(), v1::OUTCOME_VALID);
  ASSERT_EQ(audit[0].final_perspectives_size(), 6);
  for (int i = 1; i < 6; ++i) EXPECT_TRUE(audit[0].final_perspectives(i).corroborates());
  EXPECT_EQ(audit[0].client(), "ra.test");
  EXPECT_EQ(audit[0].account().thumbprints(0), testing::TestThumbprint(1));
  absl::StatusOr<v1::ValidationResult> rebuilt = AnswerFromAudit(audit[0]);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*rebuilt, *result))
      << rebuilt->DebugString() << "\nvs sent\n" << result->DebugString();
}

// The proxy-ACME-server attack (SPEC.md 3, -02 issue #64): the victim
// publishes a record computed with the victim's key; the attacker's account
// at the real CA must not validate with it.
TEST_F(ValidationAuthorityTest, ProxyServerAttackRecordDoesNotValidateAttackerAccount) {
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kAttackerUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_EQ(result->problem().type(), "urn:ietf:params:acme:error:unauthorized");
  EXPECT_FALSE(result->quorum().met());
}

TEST_F(ValidationAuthorityTest, OneRemoteDownStillValidFourOfFive) {
  remotes_[2]->SetResult(absl::UnavailableError("connection refused"));
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID);
  EXPECT_EQ(result->quorum().summary().substr(0, 3), "4/5");
  EXPECT_EQ(result->perspectives(3).answer(), v1::PERSPECTIVE_ANSWER_TRANSPORT_ERROR);
  EXPECT_FALSE(result->perspectives(3).corroborates());
}

TEST_F(ValidationAuthorityTest, TwoRemotesDownIsCorroborationFailure) {
  remotes_[0]->SetResult(absl::UnavailableError("connection refused"));
  remotes_[1]->SetResult(absl::DeadlineExceededError("deadline"));
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
  // Decided as soon as two of five failed: the other three cannot help.
  EXPECT_THAT(result->problem().detail(), HasSubstr("r1: transport_error"));
  EXPECT_THAT(result->problem().detail(), HasSubstr("r2: deadline_exceeded"));
  EXPECT_EQ(result->perspectives(2).answer(), v1::PERSPECTIVE_ANSWER_DEADLINE_EXCEEDED);
}

TEST_F(ValidationAuthorityTest, CorroboratorsInOneRirFail) {
  // Only the two ARIN remotes corroborate (r1, r4); three others see nothing.
  for (int i : {1, 2, 4}) {
    remotes_[i]->SetResponder(Answer(kFiveRemotes[i].id, kFiveRemotes[i].rir, {}));
  }
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
}

TEST_F(ValidationAuthorityTest, RemoteMatchingAnotherAccountUriDoesNotCorroborate) {
  // Remotes r1 and r2 see a passing record - but the domain-independent
  // form, not the value the primary matched (SPEC.md 6: SAME accounturi).
  const std::vector<std::string> other = {
      RecordFor(Hashed("*", testing::TestThumbprint(1), kVictimUrl))};
  remotes_[0]->SetResponder(Answer("r1", v1::RIR_ARIN, other));
  remotes_[1]->SetResponder(Answer("r2", v1::RIR_RIPE, other));
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
  EXPECT_THAT(result->problem().detail(), HasSubstr("different accounturi"));
  EXPECT_EQ(result->perspectives(1).outcome(), v1::OUTCOME_VALID);
  EXPECT_FALSE(result->perspectives(1).corroborates());
}

TEST_F(ValidationAuthorityTest, IdentityMismatchDoesNotCorroborate) {
  remotes_[0]->SetResponder(Answer("impostor", v1::RIR_ARIN, VictimRecords()));
  remotes_[1]->SetResponder(Answer("r2", v1::RIR_APNIC, VictimRecords()));
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_CORROBORATION_FAILED);
  EXPECT_EQ(result->perspectives(1).answer(), v1::PERSPECTIVE_ANSWER_IDENTITY_MISMATCH);
  EXPECT_EQ(result->perspectives(2).answer(), v1::PERSPECTIVE_ANSWER_IDENTITY_MISMATCH);
}

TEST_F(ValidationAuthorityTest, AnswersAtQuorumWithoutWaitingForStraggler) {
  remotes_[4]->Hold();
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);  // returns while r5 is held
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID);
  EXPECT_EQ(result->perspectives(5).answer(), v1::PERSPECTIVE_ANSWER_PENDING);
  EXPECT_EQ(va->in_flight(), 1);  // the straggler keeps the audit record open
  EXPECT_TRUE(AuditRecords().empty());
  remotes_[4]->Release();
  EXPECT_TRUE(va->Drain(absl::Now() + absl::Seconds(10)));
  auto audit = AuditRecords();
  ASSERT_EQ(audit.size(), 1u);
  // The answer as sent (r5 pending) and r5's final state; the evidence is
  // logged once, and the answer rebuilt from the record is the one sent.
  EXPECT_EQ(audit[0].result().perspectives_size(), 0);
  EXPECT_THAT(audit[0].pending_at_answer(), ::testing::ElementsAre(5));
  absl::StatusOr<v1::ValidationResult> rebuilt = AnswerFromAudit(audit[0]);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*rebuilt, *result))
      << rebuilt->DebugString() << "\nvs sent\n" << result->DebugString();
  EXPECT_EQ(audit[0].final_perspectives(5).answer(), v1::PERSPECTIVE_ANSWER_ANSWERED);
  EXPECT_TRUE(audit[0].final_perspectives(5).corroborates());
}

TEST_F(ValidationAuthorityTest, DeactivationTakesEffectOnTheNextValidation) {
  auto va = MakeVa().value();
  ASSERT_EQ(Validate(*va, kDomain, kVictimUrl)->outcome(), v1::OUTCOME_VALID);
  ASSERT_TRUE(store_->SetStatus(kVictimUrl, AccountStatus::kDeactivated).ok());
  const size_t calls_before = primary_.calls();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_THAT(result->problem().detail(), HasSubstr("deactivated"));
  EXPECT_EQ(primary_.calls(), calls_before);  // decided without DNS
}

TEST_F(ValidationAuthorityTest, RetainedKeyStillValidAndNamed) {
  ASSERT_TRUE(store_->RotateKey(kVictimUrl, testing::TestKey(7)).ok());
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);  // record still uses key 1
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_VALID);
  EXPECT_EQ(result->matched_key().thumbprint(), testing::TestThumbprint(1));
  EXPECT_EQ(result->matched_key().key_index(), 1);
}

TEST_F(ValidationAuthorityTest, UnknownAccountIsUnauthorized) {
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, "https://ca.example/acct/unknown");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_UNAUTHORIZED);
  EXPECT_THAT(result->problem().detail(), HasSubstr("not known"));
}

TEST_F(ValidationAuthorityTest, StoreDownFailsClosed) {
  DownStore down;
  auto va = MakeVa(5, &down).value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_SERVER_INTERNAL);
  EXPECT_EQ(result->problem().type(), "urn:ietf:params:acme:error:serverInternal");
  EXPECT_EQ(primary_.calls(), 0u);
}

TEST_F(ValidationAuthorityTest, BogusAtPrimaryIsDnsProblem) {
  primary_.SetResponder(Answer("primary", v1::RIR_ARIN, VictimRecords(), v1::DNSSEC_STATE_BOGUS));
  auto va = MakeVa().value();
  auto result = Validate(*va, kDomain, kVictimUrl);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome(), v1::OUTCOME_DNS_ERROR);
  EXPECT_EQ(result->problem().type(), "urn:ietf:params:acme:error:dns");
  EXPECT_THAT(result->problem().detail(), HasSubstr("DNSSEC: bogus: signature expired"));
}

TEST_F(ValidationAuthorityTest, WildcardNeedsPolicy) {
  auto va = MakeVa().value();
  auto without = Validate(*va, std::string("*.") + kDomain, kVictimUrl);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->outcome(), v1::OUTCOME_UNAUTHORIZED);
  const std::vector<std::string> with = {
      RecordFor(Hashed(kDomain, testing::TestThumbprint(1), kVictimUrl), "; policy=wildcard")};
  primary_.SetResponder(Answer("primary", v1::RIR_ARIN, with));
  for (size_t i = 0; i < 5; ++i) {
    remotes_[i]->SetResponder(Answer(kFiveRemotes[i].id, kFiveRemotes[i].rir, with));
  }
  auto valid = Validate(*va, std::string("*.") + kDomain, kVictimUrl);
  ASSERT_TRUE(valid.ok());
  EXPECT_EQ(valid->outcome(), v1::OUTCOME_VALID);
  EXPECT_TRUE(valid->wildcard());
  EXPECT_EQ(valid->fqdn(), kDomain);
}

TEST_F(ValidationAuthorityTest, BadRequestsAreInvalidArgumentNamingTheField) {
  auto va = MakeVa().value();
  struct Case {
    std::string name, identifier, account_url, field;
  } cases[] = {
      {"empty identifier", "", kVictimUrl, "identifier"},
      {"ip literal", "192.0.2.1", kVictimUrl, "identifier"},
      {"empty account", kDomain, "", "account_url"},
      {"account with space", kDomain, "https://ca.example/a b", "account_url"},
      {"huge account", kDomain, "https://ca.example/" + std::string(3000, 'a'), "account_url"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Validate(*va, c.identifier, c.account_url);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.field));
  }
  v1::ValidatePersistRequest request;
  request.set_identifier(kDomain);
  request.set_account_url(kVictimUrl);
  request.add_issuer_domain_names("other-ca.example");
  absl::Notification done;
  va->Validate(request, absl::InfiniteFuture(), "ra", [&](auto r) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("issuer_domain_names[0]"));
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(primary_.calls(), 0u);
}

TEST_F(ValidationAuthorityTest, RefusesFewerRemotesThanTheBrRequires) {
  auto va = MakeVa(4);
  EXPECT_EQ(va.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(va.status().message(), HasSubstr("at least 5"));
  // Before 2026-12-15 four are enough (SPEC.md 6).
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 12, 14, 0, 0, 0), absl::UTCTimeZone()));
  EXPECT_TRUE(MakeVa(4).ok());
}

}  // namespace
}  // namespace vantage::va
