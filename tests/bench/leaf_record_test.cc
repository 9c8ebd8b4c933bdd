// The fixture's leaf_record option, which the VA benchmark relies on: every
// leaf name (t<N> and the *.w wildcard) serves exactly the configured value,
// signed, and a value that cannot be one TXT string is refused up front.
// Checked with a real libunbound context (full recursion from the private
// root, DNSSEC validation), in the test's own network namespace.
#include <unbound.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/dns/fixture.h"

namespace vantage::dnstest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int kTxt = 16;

struct Txt {
  int rcode = -1;
  bool secure = false;
  std::vector<std::vector<std::string>> rrs;  // strings of each RR
};

// Resolve asks a fresh context (synchronous ub_resolve: fine in a test).
Txt Resolve(const DnsFixture& dns, const std::string& name) {
  std::unique_ptr<ub_ctx, void (*)(ub_ctx*)> ctx(ub_ctx_create(), &ub_ctx_delete);
  Txt out;
  if (ctx == nullptr) return out;
  EXPECT_EQ(ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no"), 0);
  EXPECT_EQ(ub_ctx_set_option(ctx.get(), "do-ip6:", "no"), 0);
  EXPECT_EQ(ub_ctx_set_option(ctx.get(), "root-hints:", dns.root_hints_file().c_str()), 0);
  EXPECT_EQ(ub_ctx_add_ta_file(ctx.get(), dns.trust_anchor_file().c_str()), 0);
  EXPECT_EQ(ub_ctx_zone_remove(ctx.get(), "test."), 0);
  ub_result* result = nullptr;
  if (ub_resolve(ctx.get(), name.c_str(), kTxt, 1, &result) != 0 || result == nullptr) {
    return out;
  }
  out.rcode = result->rcode;
  out.secure = result->secure != 0;
  for (int i = 0; result->data != nullptr && result->data[i] != nullptr; ++i) {
    std::vector<std::string> strings;
    const auto* p = reinterpret_cast<const unsigned char*>(result->data[i]);
    const int len = result->len[i];
    for (int off = 0; off < len;) {
      const int n = p[off];
      strings.emplace_back(reinterpret_cast<const char*>(p + off + 1),
                           static_cast<size_t>(std::min(n, len - off - 1)));
      off += 1 + n;
    }
    out.rrs.push_back(std::move(strings));
  }
  ub_resolve_free(result);
  return out;
}

TEST(LeafRecordTest, EveryLeafNameServesTheConfiguredValue) {
  DnsFixture::Options options;
  options.leaf_names = 20;
  // Characters the zone file must escape, and the shape of a hashed record.
  options.leaf_record = "ca.example; accounturi=https://ca.example/account-hash/a\"b\\c";
  absl::StatusOr<std::unique_ptr<DnsFixture>> dns = DnsFixture::Start(options);
  ASSERT_TRUE(dns.ok()) << dns.status();
  struct Case {
    const char* name;
    std::string qname;
  };
  for (const Case& c : std::vector<Case>{
           {"first", "_validation-persist.t0.leaf.test"},
           {"last", "_validation-persist.t19.leaf.test"},
           {"wildcard", "_validation-persist.x.w.leaf.test"},
       }) {
    SCOPED_TRACE(c.name);
    const Txt txt = Resolve(**dns, c.qname);
    EXPECT_EQ(txt.rcode, 0);
    EXPECT_TRUE(txt.secure);
    EXPECT_THAT(txt.rrs, ElementsAre(ElementsAre(options.leaf_record)));
  }
  // Beyond leaf_names: nothing there.
  EXPECT_EQ(Resolve(**dns, "_validation-persist.t20.leaf.test").rcode, 3);
}

TEST(LeafRecordTest, DefaultIsTheRawAccountRecord) {
  DnsFixture::Options options;
  options.leaf_names = 2;
  absl::StatusOr<std::unique_ptr<DnsFixture>> dns = DnsFixture::Start(options);
  ASSERT_TRUE(dns.ok()) << dns.status();
  EXPECT_THAT(Resolve(**dns, "_validation-persist.t1.leaf.test").rrs,
              ElementsAre(ElementsAre(AccountRecord("leaf"))));
}

TEST(LeafRecordTest, ValueThatIsNotOneTxtStringIsRefused) {
  struct Case {
    const char* name;
    std::string value;
  };
  for (const Case& c : std::vector<Case>{
           {"too_long", std::string(256, 'x')},
           {"newline", "ca.example;\naccounturi=x"},
           {"nul", std::string("ca.example\0x", 12)},
           {"non_ascii", "ca.example; accounturi=\xc3\xa9"},
       }) {
    SCOPED_TRACE(c.name);
    DnsFixture::Options options;
    options.leaf_names = 1;
    options.leaf_record = c.value;
    absl::StatusOr<std::unique_ptr<DnsFixture>> dns = DnsFixture::Start(options);
    ASSERT_FALSE(dns.ok());
    EXPECT_EQ(dns.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(dns.status().message(), HasSubstr("leaf_record"));
  }
}

}  // namespace
}  // namespace vantage::dnstest
