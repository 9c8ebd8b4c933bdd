#include "perspective/dns_answer.h"

// <stdbool.h> first: otherwise ldns/common.h #defines bool/true/false,
// which breaks C++ headers included after it.
#include <stdbool.h>
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::perspective {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Builds a response packet for (qname, qtype) with the given answer RRs in
// presentation format, as a resolver would return it.
std::vector<uint8_t> Packet(const std::string& qname, ldns_rr_type qtype,
                            const std::vector<std::string>& answers) {
  ldns_rdf* name = ldns_dname_new_frm_str(qname.c_str());
  ldns_pkt* pkt = ldns_pkt_query_new(name, qtype, LDNS_RR_CLASS_IN, 0);
  ldns_pkt_set_qr(pkt, true);
  for (const std::string& rr_text : answers) {
    ldns_rr* rr = nullptr;
    EXPECT_EQ(ldns_rr_new_frm_str(&rr, rr_text.c_str(), 0, nullptr, nullptr),
              LDNS_STATUS_OK)
        << rr_text;
    ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr);
  }
  uint8_t* wire = nullptr;
  size_t size = 0;
  EXPECT_EQ(ldns_pkt2wire(&wire, pkt, &size), LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + size);
  LDNS_FREE(wire);
  ldns_pkt_free(pkt);
  return out;
}

absl::StatusOr<DnsAnswer> Parse(const std::string& qname, uint16_t qtype,
                                const std::vector<uint8_t>& packet) {
  return ParseDnsAnswer(qname, qtype, packet.data(), packet.size());
}

std::vector<std::vector<std::string>> Strings(const DnsAnswer& a) {
  std::vector<std::vector<std::string>> out;
  for (const v1::TxtRecord& r : a.txt) {
    out.emplace_back(r.strings().begin(), r.strings().end());
  }
  return out;
}

TEST(DnsAnswerTest, TxtRecordsKeepStringBoundariesAndRawBytes) {
  auto p = Packet("_validation-persist.example.com.", LDNS_RR_TYPE_TXT,
                  {"_validation-persist.example.com. 300 IN TXT \"a\\000b\" \"\" "
                   "\"\\255\\\"\\\\;x\"",
                   "_validation-persist.example.com. 60 IN TXT \"one\" \"two\""});
  absl::StatusOr<DnsAnswer> a =
      Parse("_validation-persist.example.com", kTypeTxt, p);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(Strings(*a),
              ElementsAre(ElementsAre(std::string("a\0b", 3), "", "\xff\"\\;x"),
                          ElementsAre("one", "two")));
  EXPECT_THAT(a->cname_chain, IsEmpty());
  EXPECT_EQ(a->canonical_name, "_validation-persist.example.com");
  EXPECT_EQ(a->ttl, 60u);  // the minimum over the RRset
}

TEST(DnsAnswerTest, FollowsCnameChainAndIgnoresRecordsAtOtherOwners) {
  auto p = Packet(
      "_validation-persist.Example.com.", LDNS_RR_TYPE_TXT,
      {// A TXT at the query name itself next to a CNAME is not the answer.
       "other.example.net. 60 IN TXT \"injected at another owner\"",
       "_validation-persist.example.com. 60 IN CNAME hop.example.net.",
       "hop.example.net. 60 IN CNAME Final.Example.org.",
       "final.example.org. 30 IN TXT \"the data\""});
  absl::StatusOr<DnsAnswer> a =
      Parse("_validation-persist.example.com", kTypeTxt, p);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->cname_chain,
              ElementsAre("_validation-persist.example.com", "hop.example.net"));
  EXPECT_EQ(a->canonical_name, "final.example.org");
  EXPECT_THAT(Strings(*a), ElementsAre(ElementsAre("the data")));
  EXPECT_EQ(a->ttl, 30u);
}

TEST(DnsAnswerTest, DnameWithoutSynthesizedCnameIsRewritten) {
  auto p = Packet("_validation-persist.a.old.example.", LDNS_RR_TYPE_TXT,
                  {"old.example. 60 IN DNAME new.example.",
                   "_validation-persist.a.new.example. 60 IN TXT \"moved\""});
  absl::StatusOr<DnsAnswer> a =
      Parse("_validation-persist.a.old.example", kTypeTxt, p);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->cname_chain, ElementsAre("_validation-persist.a.old.example"));
  EXPECT_EQ(a->canonical_name, "_validation-persist.a.new.example");
  EXPECT_THAT(Strings(*a), ElementsAre(ElementsAre("moved")));
}

TEST(DnsAnswerTest, CnameLoopStops) {
  auto p = Packet("a.example.", LDNS_RR_TYPE_TXT,
                  {"a.example. 60 IN CNAME b.example.",
                   "b.example. 60 IN CNAME a.example."});
  absl::StatusOr<DnsAnswer> a = Parse("a.example", kTypeTxt, p);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->cname_chain.size(), static_cast<size_t>(kMaxAliasHops));
  EXPECT_THAT(a->txt, IsEmpty());
}

TEST(DnsAnswerTest, NoDataGivesEmptyRrset) {
  auto p = Packet("x.example.", LDNS_RR_TYPE_TXT, {});
  absl::StatusOr<DnsAnswer> a = Parse("x.example", kTypeTxt, p);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->txt, IsEmpty());
  EXPECT_EQ(a->ttl, 0u);
  EXPECT_EQ(a->canonical_name, "x.example");
}

TEST(DnsAnswerTest, CaaFlagsTagValue) {
  auto p = Packet(
      "example.com.", LDNS_RR_TYPE_CAA,
      {"example.com. 60 IN CAA 128 issue \"ca.example; accounturi=https://a/1\"",
       "example.com. 60 IN CAA 0 iodef \"mailto:x@example.com\"",
       "example.com. 60 IN TXT \"not caa\""});
  absl::StatusOr<DnsAnswer> a = Parse("example.com", kTypeCaa, p);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->caa.size(), 2u);
  EXPECT_EQ(a->caa[0].flags(), 128u);
  EXPECT_EQ(a->caa[0].tag(), "issue");
  EXPECT_EQ(a->caa[0].value(), "ca.example; accounturi=https://a/1");
  EXPECT_EQ(a->caa[1].flags(), 0u);
  EXPECT_EQ(a->caa[1].tag(), "iodef");
  EXPECT_THAT(a->txt, IsEmpty());
}

TEST(DnsAnswerTest, CaaEmptyValue) {
  // Wire: flags 0, tag "issue", empty value (RFC 8659 allows it: "no CA").
  auto p = Packet("example.com.", LDNS_RR_TYPE_CAA,
                  {"example.com. 60 IN TYPE257 \\# 7 0005697373756 5"});
  absl::StatusOr<DnsAnswer> a = Parse("example.com", kTypeCaa, p);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->caa.size(), 1u);
  EXPECT_EQ(a->caa[0].tag(), "issue");
  EXPECT_EQ(a->caa[0].value(), "");
}

TEST(DnsAnswerTest, RejectsAnotherQuestionAndGarbage) {
  auto p = Packet("other.example.", LDNS_RR_TYPE_TXT, {});
  EXPECT_THAT(Parse("x.example", kTypeTxt, p).status().message(),
              HasSubstr("not the question asked"));
  EXPECT_FALSE(Parse("other.example", kTypeCaa, p).ok());
  std::vector<uint8_t> garbage = {1, 2, 3};
  EXPECT_EQ(Parse("x.example", kTypeTxt, garbage).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Every truncation of a valid packet is refused or parsed, never a crash.
  auto good = Packet("x.example.", LDNS_RR_TYPE_TXT,
                     {"x.example. 60 IN TXT \"abc\" \"def\""});
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    absl::StatusOr<DnsAnswer> a = Parse("x.example", kTypeTxt, cut);
    if (a.ok()) {
      EXPECT_LE(a->txt.size(), 1u);
    }
  }
}

TEST(DnsAnswerTest, DnameToStringEscapesAndLowercases) {
  const uint8_t wire[] = {3, 'A', 'b', '.', 4, 'x', ' ', '_', '\\', 0};
  EXPECT_EQ(DnameToString(wire, sizeof(wire)), "ab\\046.x\\032_\\092");
  const uint8_t root[] = {0};
  EXPECT_EQ(DnameToString(root, 1), "");
  const uint8_t truncated[] = {5, 'a', 'b'};
  EXPECT_EQ(DnameToString(truncated, sizeof(truncated)), "");
}

}  // namespace
}  // namespace vantage::perspective
