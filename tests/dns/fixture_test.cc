// The fixture's regression test: every zone case, checked with a real
// libunbound context (full recursion from the private root, DNSSEC
// validation against the fixture's trust anchor). Runs in its own network
// namespace (netns_gtest_main).
#include "tests/dns/fixture.h"

#include <unbound.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"

namespace vantage::dnstest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr int kTxt = 16;
constexpr int kCaa = 257;

// What libunbound said about one query.
struct Answer {
  int rcode = -1;
  bool secure = false;
  bool bogus = false;
  bool havedata = false;
  std::string why_bogus;
  std::vector<std::vector<std::string>> txt;  // TXT RDATA split into strings
  int records = 0;

  std::string State() const {
    return secure ? "secure" : bogus ? "bogus" : "insecure";
  }
};

// Resolver: one libunbound context configured like the observer's
// (explicit calls, zone_remove last), answers via synchronous ub_resolve -
// fine in a test, never on a hot path.
class Resolver {
 public:
  struct Stub {
    std::string zone;
    std::string address;
  };
  static std::unique_ptr<Resolver> Create(const DnsFixture& dns,
                                          const std::vector<Stub>& stubs = {}) {
    auto r = std::unique_ptr<Resolver>(new Resolver(ub_ctx_create()));
    EXPECT_NE(r->ctx_, nullptr);
    r->Check(ub_ctx_set_option(r->ctx_, "do-not-query-localhost:", "no"));
    r->Check(ub_ctx_set_option(r->ctx_, "do-ip6:", "no"));
    r->Check(ub_ctx_set_option(r->ctx_, "infra-cache-max-rtt:", "500"));
    // As the observer: a server that was down is retried after 10 s
    // (unbound's default keeps it "down" for 900 s).
    r->Check(ub_ctx_set_option(r->ctx_, "infra-host-ttl:", "10"));
    r->Check(ub_ctx_set_option(r->ctx_, "root-hints:",
                               dns.root_hints_file().c_str()));
    r->Check(ub_ctx_add_ta_file(r->ctx_, dns.trust_anchor_file().c_str()));
    for (const Stub& s : stubs) {
      r->Check(ub_ctx_set_stub(r->ctx_, s.zone.c_str(), s.address.c_str(), 0));
    }
    r->Check(ub_ctx_zone_remove(r->ctx_, "test."));  // last: finalizes
    return r;
  }
  ~Resolver() { ub_ctx_delete(ctx_); }

  Answer Resolve(const std::string& name, int type) {
    struct ub_result* res = nullptr;
    int err = ub_resolve(ctx_, name.c_str(), type, 1, &res);
    Answer a;
    EXPECT_EQ(err, 0) << name << ": " << ub_strerror(err);
    if (err != 0 || res == nullptr) return a;
    a.rcode = res->rcode;
    a.secure = res->secure != 0;
    a.bogus = res->bogus != 0;
    a.havedata = res->havedata != 0;
    if (res->why_bogus != nullptr) a.why_bogus = res->why_bogus;
    for (int i = 0; res->havedata && res->data[i] != nullptr; ++i) {
      ++a.records;
      if (type != kTxt) continue;
      std::vector<std::string> strings;
      const unsigned char* d = reinterpret_cast<unsigned char*>(res->data[i]);
      int len = res->len[i], p = 0;
      while (p < len) {
        int l = d[p++];
        strings.emplace_back(reinterpret_cast<const char*>(d + p),
                             std::min(l, len - p));
        p += l;
      }
      a.txt.push_back(strings);
    }
    ub_resolve_free(res);
    return a;
  }

 private:
  explicit Resolver(ub_ctx* ctx) : ctx_(ctx) {}
  void Check(int err) { EXPECT_EQ(err, 0) << ub_strerror(err); }
  ub_ctx* ctx_;
};

class FixtureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<DnsFixture>> f = DnsFixture::Start();
    ASSERT_TRUE(f.ok()) << f.status();
    dns_ = f->release();
  }
  static void TearDownTestSuite() {
    delete dns_;
    dns_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(dns_, nullptr) << "fixture did not start"; }
  static DnsFixture* dns_;
};
DnsFixture* FixtureTest::dns_ = nullptr;

struct Case {
  std::string name;  // row name
  std::string qname;
  int qtype;
  int rcode;
  std::string state;
  std::vector<std::vector<std::string>> txt;  // expected TXT RRset (TXT only)
  int records;                                // expected RR count
  std::string why_bogus;                      // substring, bogus only
};

std::vector<Case> Cases() {
  std::vector<std::vector<std::string>> big;
  for (int i = 0; i < kBigTxtRecords; ++i) big.push_back({BigTxtString(i)});
  return {
      {"secure", "_validation-persist.example.test", kTxt, 0, "secure",
       {{AccountRecord("1")}}, 1, ""},
      {"secure_multi", "_validation-persist.multi.example.test", kTxt, 0,
       "secure",
       {{AccountRecord("1")},
        {"other-ca.example; accounturi=https://other.example/a/9",
         "second-string"}},
       2, ""},
      {"secure_raw_bytes", "_validation-persist.bytes.example.test", kTxt, 0,
       "secure", {{std::string("a\0b", 3), "", "\xff\"\\;x"}}, 1, ""},
      {"secure_big_over_tcp", "_validation-persist.big.example.test", kTxt, 0,
       "secure", big, kBigTxtRecords, ""},
      {"secure_nodata", "_validation-persist.nodata.example.test", kTxt, 0,
       "secure", {}, 0, ""},
      {"secure_nxdomain", "_validation-persist.nx.example.test", kTxt, 3,
       "secure", {}, 0, ""},
      {"secure_wildcard", "_validation-persist.any.wc.example.test", kTxt, 0,
       "secure", {{"wildcard-synthesized"}}, 1, ""},
      {"cname_secure_to_secure", "_validation-persist.cname.example.test", kTxt,
       0, "secure", {{AccountRecord("second")}}, 1, ""},
      {"cname_chain_two_hops", "_validation-persist.chain.example.test", kTxt, 0,
       "secure", {{AccountRecord("second")}}, 1, ""},
      {"dname", "_validation-persist.target.dname.example.test", kTxt, 0,
       "secure", {{AccountRecord("second")}}, 1, ""},
      {"cname_secure_to_bogus", "_validation-persist.tobogus.example.test", kTxt,
       0, "bogus", {{AccountRecord("bogus")}}, 1, "DS hash mismatches key"},
      {"cname_secure_to_insecure", "_validation-persist.toinsecure.example.test",
       kTxt, 0, "insecure", {{AccountRecord("2")}}, 1, ""},
      {"insecure_unsigned", "_validation-persist.insecure.test", kTxt, 0,
       "insecure", {{AccountRecord("2")}}, 1, ""},
      {"insecure_nxdomain", "_validation-persist.nx.insecure.test", kTxt, 3,
       "insecure", {}, 0, ""},
      {"insecure_signed_without_ds", "_validation-persist.nods.test", kTxt, 0,
       "insecure", {{AccountRecord("nods")}}, 1, ""},
      {"bogus_wrong_ds", "_validation-persist.bogus.test", kTxt, 0, "bogus",
       {{AccountRecord("bogus")}}, 1, "DS hash mismatches key"},
      {"bogus_expired", "_validation-persist.expired.test", kTxt, 0, "bogus",
       {{AccountRecord("expired")}}, 1, "signature expired"},
      {"bogus_tampered", "_validation-persist.tampered.test", kTxt, 0, "bogus",
       {{AccountRecord("EVIL")}}, 1, "signature verification failed"},
      {"bogus_stripped_rrsig", "_validation-persist.nosig.test", kTxt, 0,
       "bogus", {{AccountRecord("nosig")}}, 1, "no signatures"},
      {"leaf_name", "_validation-persist.t7.leaf.test", kTxt, 0, "secure",
       {{AccountRecord("leaf")}}, 1, ""},
      {"leaf_wildcard", "_validation-persist.n7.w.leaf.test", kTxt, 0, "secure",
       {{AccountRecord("leaf")}}, 1, ""},
      {"caa_apex", "example.test", kCaa, 0, "secure", {}, 2, ""},
      {"caa_three_records", "caa.example.test", kCaa, 0, "secure", {}, 3, ""},
      {"caa_none_at_subdomain", "sub.example.test", kCaa, 0, "secure", {}, 0, ""},
      {"caa_via_cname", "caacname.example.test", kCaa, 0, "secure", {}, 1, ""},
      {"caa_none_at_tld", "test", kCaa, 0, "secure", {}, 0, ""},
      {"caa_insecure", "insecure.test", kCaa, 0, "insecure", {}, 1, ""},
      {"caa_bogus", "x.bogus.test", kCaa, 3, "bogus", {}, 0, "DS hash mismatches"},
  };
}

TEST_F(FixtureTest, EveryZoneCase) {
  std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    Answer a = r->Resolve(c.qname, c.qtype);
    EXPECT_EQ(a.rcode, c.rcode);
    EXPECT_EQ(a.State(), c.state) << a.why_bogus;
    EXPECT_EQ(a.records, c.records);
    // RRset order is not fixed (resolvers and servers rotate it).
    if (c.qtype == kTxt) {
      EXPECT_THAT(a.txt, UnorderedElementsAreArray(c.txt));
    }
    if (c.state == "bogus") {
      EXPECT_THAT(a.why_bogus, HasSubstr(c.why_bogus));
    } else {
      EXPECT_THAT(a.why_bogus, IsEmpty());
    }
  }
}

TEST_F(FixtureTest, LameZoneFailsWithinAFewSeconds) {
  std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
  absl::Time start = absl::Now();
  Answer a = r->Resolve("_validation-persist.lame.test", kTxt);
  EXPECT_EQ(a.rcode, 2);  // SERVFAIL
  EXPECT_FALSE(a.secure);
  EXPECT_FALSE(a.bogus);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

// The big RRset really needs TCP: with TCP port 53 rejected in this
// namespace it cannot be resolved while a small answer still can; over UDP
// the server sets TC=1.
TEST_F(FixtureTest, BigRrsetNeedsTcp) {
  absl::StatusOr<harness::RunResult> udp = harness::RunCommandOk(
      {"kdig", "+notcp", "+bufsize=1232", "+timeout=2", "+retry=0",
       "@" + dns_->auth_address(1), "TXT", "_validation-persist.big.example.test"});
  ASSERT_TRUE(udp.ok()) << udp.status();
  EXPECT_THAT(udp->stdout_text, HasSubstr("Flags: qr aa tc"));

  harness::Subprocess::Options nft = harness::CommandOptions({"nft", "-f", "-"});
  nft.stdin_data =
      "table inet notcp {\n"
      "  chain out {\n"
      "    type filter hook output priority 0;\n"
      "    tcp dport 53 reject with tcp reset\n"
      "  }\n"
      "}\n";
  ASSERT_TRUE(harness::RunCommandOk(nft).ok());
  {
    std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
    Answer small = r->Resolve("_validation-persist.example.test", kTxt);
    EXPECT_EQ(small.State(), "secure");
    Answer big = r->Resolve("_validation-persist.big.example.test", kTxt);
    EXPECT_EQ(big.rcode, 2) << "resolved the big RRset without TCP?";
    EXPECT_FALSE(big.havedata);
  }
  ASSERT_TRUE(
      harness::RunCommandOk({"nft", "delete", "table", "inet", "notcp"}).ok());
  std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
  Answer big = r->Resolve("_validation-persist.big.example.test", kTxt);
  EXPECT_EQ(big.State(), "secure");
  EXPECT_EQ(big.records, kBigTxtRecords);
}

TEST_F(FixtureTest, UpdatedRecordSeenAfterItsTtl) {
  std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
  const std::string name = "_validation-persist.upd.example.test";
  ASSERT_TRUE(dns_->SetTxt(name, {{"version", "1"}}, 1).ok());
  Answer a = r->Resolve(name, kTxt);
  ASSERT_EQ(a.txt, (std::vector<std::vector<std::string>>{{"version", "1"}}));
  ASSERT_TRUE(dns_->SetTxt(name, {{"version", "2"}, {"extra"}}, 1).ok());
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    a = r->Resolve(name, kTxt);
    if (a.records == 2) break;
    absl::SleepFor(absl::Milliseconds(100));  // polling interval
  }
  EXPECT_EQ(a.State(), "secure");
  EXPECT_THAT(a.txt, UnorderedElementsAre(ElementsAre("version", "2"),
                                          ElementsAre("extra")));
  ASSERT_TRUE(dns_->DeleteRecord(name, "TXT").ok());
  EXPECT_EQ(dns_->AddRecord("_validation-persist.x.nosuchzone.test", "TXT",
                            "\"x\"")
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FixtureTest, RestartedAuthServerIsSeenAgain) {
  std::unique_ptr<Resolver> r = Resolver::Create(*dns_);
  ASSERT_EQ(r->Resolve("_validation-persist.example.test", kTxt).State(),
            "secure");
  // A runtime update made just before the crash survives it.
  const std::string added = "_validation-persist.survivor.example.test";
  ASSERT_TRUE(dns_->SetTxt(added, {{"still here"}}, 60).ok());
  ASSERT_TRUE(dns_->StopInstance("auth").ok());
  EXPECT_FALSE(dns_->InstanceRunning("auth"));
  // Not cached: the dead server gives SERVFAIL.
  Answer down = r->Resolve("_validation-persist.restart1.example.test", kTxt);
  EXPECT_EQ(down.rcode, 2);
  ASSERT_TRUE(dns_->StartInstance("auth").ok());
  EXPECT_TRUE(dns_->InstanceRunning("auth"));
  Answer up;
  absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    up = r->Resolve("_validation-persist.multi.example.test", kTxt);
    if (up.rcode == 0) break;
    absl::SleepFor(absl::Milliseconds(200));  // polling interval
  }
  EXPECT_EQ(up.rcode, 0);
  EXPECT_EQ(up.State(), "secure");
  EXPECT_EQ(up.records, 2);
  Answer survivor = r->Resolve(added, kTxt);
  EXPECT_EQ(survivor.State(), "secure");
  EXPECT_EQ(survivor.txt,
            (std::vector<std::vector<std::string>>{{"still here"}}));
}

TEST_F(FixtureTest, AttackerServesForgedUnsignedData) {
  ASSERT_TRUE(dns_->StartAttacker().ok());
  // A resolver whose customer-zone traffic goes to the attacker (what the
  // lab does with DNAT): the signed zone turns bogus, the unsigned one
  // accepts the forgery - what corroboration across perspectives catches.
  std::unique_ptr<Resolver> r = Resolver::Create(
      *dns_, {{"example.test", dns_->attacker_address()},
              {"insecure.test", dns_->attacker_address()}});
  Answer signed_zone = r->Resolve("_validation-persist.example.test", kTxt);
  EXPECT_EQ(signed_zone.State(), "bogus");
  Answer unsigned_zone = r->Resolve("_validation-persist.insecure.test", kTxt);
  EXPECT_EQ(unsigned_zone.State(), "insecure");
  EXPECT_EQ(unsigned_zone.txt,
            (std::vector<std::vector<std::string>>{{AccountRecord("ATTACKER")}}));
  EXPECT_TRUE(dns_->StopInstance("attacker").ok());
}

}  // namespace
}  // namespace vantage::dnstest
