#include "perspective/config.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/textproto.h"
#include "google/protobuf/text_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/pki/test_pki.h"

namespace vantage::perspective {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string TmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

v1::PerspectiveConfig Parse(const std::string& text) {
  v1::PerspectiveConfig config;
  absl::Status status = common::ParseTextProto(text, "test", &config);
  EXPECT_TRUE(status.ok()) << status;
  return config;
}

// A valid config, to be broken one field at a time.
constexpr char kGood[] = R"pb(
  id: "ripe-1"
  rir: RIR_RIPE
  region: "eu-west-1"
  listen_address: "[::]:8443"
  resolver { trust_anchor_file: "/usr/share/dns/root.key" }
  tls {
    cert_file: "/etc/vantage/tls.pem"
    key_file: "/etc/vantage/tls.key"
    client_ca_file: "/etc/vantage/ca.pem"
    allowed_client_names: "va.vantage.test"
  }
  metrics_address: "0.0.0.0:9090"
)pb";

TEST(PerspectiveConfigProblemsTest, EachRuleNamesItsField) {
  struct Case {
    std::string name;
    std::string text;  // merged over kGood (scalars replace, repeated fields append)
    std::vector<std::string> problems;
  };
  const Case cases[] = {
      {"good", "", {}},
      {"bad_id", R"pb(id: "RIPE_1")pb",
       {"id: \"RIPE_1\" must be 1..63 characters of [a-z0-9-]"}},
      {"no_rir", R"pb(rir: 999)pb",
       {"rir: required, one of RIR_ARIN, RIR_RIPE, RIR_APNIC, RIR_LACNIC, RIR_AFRINIC (BR "
        "3.2.2.9: corroborating remotes must span two RIRs)"}},
      {"rir_out_of_range", R"pb(rir: 9)pb", {"rir: unknown value 9"}},
      {"region_control_char", R"pb(region: "eu\nwest")pb", {"region: printable ASCII only"}},
      {"bad_listen", R"pb(listen_address: "8443")pb",
       {"listen_address: address \"8443\" is not HOST:PORT (missing :PORT)"}},
      {"bad_metrics", R"pb(metrics_address: "[::1]")pb",
       {"metrics_address: address \"[::1]\" is not HOST:PORT (missing :PORT after ']')"}},
      {"good_health", R"pb(health_address: "[::]:8081")pb", {}},
      {"bad_health", R"pb(health_address: "localhost")pb",
       {"health_address: address \"localhost\" is not HOST:PORT (missing :PORT)"}},
      {"health_on_metrics_port", R"pb(health_address: "[::]:9090")pb",
       {"health_address: \"[::]:9090\" is the port of metrics_address \"0.0.0.0:9090\"; the "
        "plaintext health listener needs its own port"}},
      {"lookup_timeout_too_short", R"pb(resolver { lookup_timeout { nanos: 5000000 } })pb",
       {"resolver.lookup_timeout: must be within 100ms .. 1m, got 5ms"}},
      {"lookup_timeout_invalid",
       R"pb(resolver { lookup_timeout { seconds: 1 nanos: -5 } })pb",
       {"resolver.lookup_timeout: not a valid duration (seconds 1, nanos -5)"}},
      {"too_many_lookups", R"pb(resolver { max_concurrent_lookups: 100001 })pb",
       {"resolver.max_concurrent_lookups: must be within 1 .. 100000 (0 = default 1024), got "
        "100001"}},
      {"rtt_too_small", R"pb(resolver { infra_cache_max_rtt_ms: 10 })pb",
       {"resolver.infra_cache_max_rtt_ms: must be >= 50 (0 = default 2000), got 10"}},
      {"host_ttl_too_long", R"pb(resolver { infra_host_ttl { seconds: 7200 } })pb",
       {"resolver.infra_host_ttl: must be within 1s .. 1h, got 2h"}},
      {"bad_forwarders",
       R"pb(resolver { forwarders: "8.8.8.8" forwarders: "::1@5353" forwarders: "dns.example" forwarders: "1.1.1.1@0" forwarders: "1.1.1.1@" })pb",
       {"resolver.forwarders[2]: \"dns.example\" is not ADDR or ADDR@PORT (ADDR an IPv4/IPv6 "
        "address, PORT 1..65535)",
        "resolver.forwarders[3]: \"1.1.1.1@0\" is not ADDR or ADDR@PORT (ADDR an IPv4/IPv6 "
        "address, PORT 1..65535)",
        "resolver.forwarders[4]: \"1.1.1.1@\" is not ADDR or ADDR@PORT (ADDR an IPv4/IPv6 "
        "address, PORT 1..65535)"}},
      {"bad_zone", R"pb(resolver { unblock_local_zones: "test." unblock_local_zones: "Test" })pb",
       {"resolver.unblock_local_zones[1]: \"Test\" is not a lowercase DNS zone name"}},
      {"grace_negative", R"pb(shutdown_grace { seconds: -1 })pb",
       {"shutdown_grace: must be within 0 .. 10m, got -1s"}},
      {"plaintext_off_loopback", R"pb(tls { insecure_plaintext: true })pb",
       {"tls.insecure_plaintext: only allowed on a loopback listen_address (127.0.0.0/8, "
        "[::1], localhost), got [::]:8443"}},
      {"allowed_wildcard", R"pb(tls { allowed_client_names: "*.vantage.test" })pb",
       {"tls.allowed_client_names[1]: \"*.vantage.test\" is not a lowercase DNS name without "
        "wildcard (matched exactly against the client certificate's DNS SANs or CN)"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::PerspectiveConfig config = Parse(kGood);
    config.MergeFrom(Parse(c.text));
    if (c.name == "no_rir") config.clear_rir();
    EXPECT_EQ(PerspectiveConfigProblems(config), c.problems);
    EXPECT_EQ(ValidatePerspectiveConfig(config).ok(), c.problems.empty());
  }
}

TEST(PerspectiveConfigProblemsTest, EmptyConfigReportsEveryRequiredField) {
  const std::vector<std::string> problems = PerspectiveConfigProblems(v1::PerspectiveConfig());
  EXPECT_THAT(
      problems,
      ElementsAre(
          "id: required (reported in every Observation; the VA checks it)",
          HasSubstr("rir: required"), HasSubstr("listen_address: required"),
          "resolver.trust_anchor_file: required (SPEC.md 5: without a trust anchor every "
          "answer looks insecure; production: /usr/share/dns/root.key from dns-root-data)",
          HasSubstr("tls.cert_file: required"), HasSubstr("tls.key_file: required"),
          HasSubstr("tls.client_ca_file: required"),
          HasSubstr("tls.allowed_client_names: required")));
}

TEST(PerspectiveConfigDefaultsTest, FillsUnsetFieldsOnly) {
  v1::PerspectiveConfig config = Parse(kGood);
  config.MergeFrom(Parse(R"pb(resolver { max_concurrent_lookups: 7 }
                              shutdown_grace { seconds: 1 })pb"));
  ApplyPerspectiveDefaults(&config);
  EXPECT_EQ(LookupTimeout(config), absl::Seconds(5));
  EXPECT_EQ(config.resolver().lookup_timeout().seconds(), 5);
  EXPECT_EQ(config.resolver().max_concurrent_lookups(), 7u);
  EXPECT_EQ(config.resolver().infra_cache_max_rtt_ms(), 2000u);
  EXPECT_EQ(ShutdownGrace(config), absl::Seconds(1));
  const v1::PerspectiveConfig once = config;
  ApplyPerspectiveDefaults(&config);
  EXPECT_EQ(config.SerializeAsString(), once.SerializeAsString());
  EXPECT_THAT(PerspectiveConfigProblems(config), IsEmpty());
}

class LoadPerspectiveConfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tests::TestPkiOptions options;
    options.dir = TmpDir() + "/config_test_pki";
    absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new tests::TestPki(*pki);
    WriteFile(TmpDir() + "/root.ta",
              "; test root\n. 3600 IN DS 12345 13 2 "
              "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF\n");
    WriteFile(TmpDir() + "/not-a-ta", "hello\n");
    WriteFile(TmpDir() + "/empty", "");
  }

  // Writes a config using the test PKI with `overlay` merged over it; an
  // overlay that is not valid textproto is appended verbatim instead.
  static std::string Write(const std::string& name, const std::string& overlay) {
    const tests::CertFiles server = pki_->server(tests::kPerspectiveServerName);
    v1::PerspectiveConfig config = Parse(absl::StrCat(
        "id: \"p1\" rir: RIR_ARIN listen_address: \"127.0.0.1:0\"\n",
        "resolver { trust_anchor_file: \"", TmpDir(), "/root.ta\" }\n",
        "tls { cert_file: \"", server.cert_file, "\" key_file: \"", server.key_file,
        "\" client_ca_file: \"", pki_->ca_file(), "\" allowed_client_names: \"",
        tests::kVaClientName, "\" }\n"));
    std::string text;
    v1::PerspectiveConfig extra;
    if (common::ParseTextProto(overlay, "overlay", &extra).ok()) {
      config.MergeFrom(extra);
      google::protobuf::TextFormat::PrintToString(config, &text);
    } else {
      google::protobuf::TextFormat::PrintToString(config, &text);
      text += overlay;
    }
    const std::string path = absl::StrCat(TmpDir(), "/", name, ".textproto");
    WriteFile(path, text);
    return path;
  }
  static tests::TestPki* pki_;
};
tests::TestPki* LoadPerspectiveConfigTest::pki_ = nullptr;

TEST_F(LoadPerspectiveConfigTest, GoodConfigLoadsWithDefaults) {
  absl::StatusOr<v1::PerspectiveConfig> config = LoadPerspectiveConfig(Write("good", ""), false);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->id(), "p1");
  EXPECT_EQ(config->resolver().max_concurrent_lookups(), 1024u);
  EXPECT_FALSE(config->tls().insecure_plaintext());
}

TEST_F(LoadPerspectiveConfigTest, InsecureFlagForcesPlaintextOnLoopbackOnly) {
  absl::StatusOr<v1::PerspectiveConfig> config = LoadPerspectiveConfig(Write("good", ""), true);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->tls().insecure_plaintext());
  absl::StatusOr<v1::PerspectiveConfig> remote =
      LoadPerspectiveConfig(Write("remote", "listen_address: \"0.0.0.0:8443\""), true);
  EXPECT_THAT(std::string(remote.status().message()),
              HasSubstr("tls.insecure_plaintext: only allowed on a loopback listen_address"));
}

TEST_F(LoadPerspectiveConfigTest, FileProblemsAreReportedTogether) {
  struct Case {
    std::string name;
    std::string extra;
    std::vector<std::string> substrings;
  };
  const std::string tmp = TmpDir();
  const Case cases[] = {
      {"missing_anchor",
       absl::StrCat("resolver { trust_anchor_file: \"", tmp, "/nope.ta\" }"),
       {"1 problem:", absl::StrCat("resolver.trust_anchor_file: cannot read ", tmp, "/nope.ta")}},
      {"not_an_anchor",
       absl::StrCat("resolver { trust_anchor_file: \"", tmp, "/not-a-ta\" }"),
       {absl::StrCat("resolver.trust_anchor_file: no DS or DNSKEY record in ", tmp,
                     "/not-a-ta")}},
      {"empty_hints_and_bad_key",
       absl::StrCat("resolver { root_hints_file: \"", tmp, "/empty\" } tls { key_file: \"",
                    pki_->client(tests::kVaClientName).key_file, "\" }"),
       {"2 problems:", absl::StrCat("resolver.root_hints_file: ", tmp, "/empty is empty"),
        "tls.key_file: does not match the certificate in tls.cert_file"}},
      {"syntax_and_rules_not_mixed", "id: 5", {"not a valid vantage.v1.PerspectiveConfig"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<v1::PerspectiveConfig> config = LoadPerspectiveConfig(Write(c.name, c.extra), false);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    for (const std::string& s : c.substrings) EXPECT_THAT(std::string(config.status().message()), HasSubstr(s));
  }
}

TEST_F(LoadPerspectiveConfigTest, NoTrustAnchorIsRefusedWithTheReason) {
  const std::string path = Write("no_anchor", "");
  absl::StatusOr<v1::PerspectiveConfig> config = LoadPerspectiveConfig(path, false);
  ASSERT_TRUE(config.ok()) << config.status();
  config->mutable_resolver()->clear_trust_anchor_file();
  std::string text;
  google::protobuf::TextFormat::PrintToString(*config, &text);
  WriteFile(path, text);
  config = LoadPerspectiveConfig(path, false);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("resolver.trust_anchor_file: required (SPEC.md 5: without a trust "
                        "anchor every answer looks insecure"));
}

}  // namespace
}  // namespace vantage::perspective
