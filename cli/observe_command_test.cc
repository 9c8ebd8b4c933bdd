#include "cli/observe_command.h"

#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "perspective/fake_observer.h"
#include "perspective/service.h"
#include "prometheus/registry.h"
#include "tests/pki/test_pki.h"

namespace vantage::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseObserveArgsTest, Table) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string error;  // substring; empty = parses
    std::string fqdn;
    int kinds;
  };
  const std::vector<std::string> tls = {"--tls-ca=ca.pem", "--tls-cert=c.pem", "--tls-key=c.key"};
  auto with_tls = [&tls](std::vector<std::string> args) {
    args.insert(args.end(), tls.begin(), tls.end());
    return args;
  };
  const Case cases[] = {
      {"normalizes_the_domain", with_tls({"--perspective=p:1", "--domain=Example.TEST."}), "",
       "example.test", 1},
      {"wildcard_observes_the_base_name", with_tls({"--perspective=p:1", "--domain=*.example.test"}),
       "", "example.test", 1},
      {"idn", with_tls({"--perspective=p:1", "--domain=bücher.example"}), "",
       "xn--bcher-kva.example", 1},
      {"caa", with_tls({"--perspective=p:1", "--domain=example.test", "--caa"}), "",
       "example.test", 2},
      {"insecure", {"--perspective=127.0.0.1:1", "--domain=example.test", "--insecure"}, "",
       "example.test", 1},
      {"no_perspective", with_tls({"--domain=example.test"}), "--perspective=HOST:PORT is required",
       "", 0},
      {"no_domain", with_tls({"--perspective=p:1"}), "--domain=NAME is required", "", 0},
      {"bad_domain", with_tls({"--perspective=p:1", "--domain=a..b"}), "--domain: ", "", 0},
      {"ip_domain", with_tls({"--perspective=p:1", "--domain=192.0.2.1"}), "--domain: ", "", 0},
      {"no_ca", {"--perspective=p:1", "--domain=example.test"}, "--tls-ca=FILE is required", "", 0},
      {"insecure_and_tls", with_tls({"--perspective=p:1", "--domain=x.test", "--insecure"}),
       "--insecure excludes", "", 0},
      {"cert_without_key",
       {"--perspective=p:1", "--domain=x.test", "--tls-ca=a", "--tls-cert=b"},
       "--tls-cert and --tls-key go together", "", 0},
      {"bad_timeout", with_tls({"--perspective=p:1", "--domain=x.test", "--timeout=soon"}),
       "--timeout: \"soon\" is not a positive duration", "", 0},
      {"unknown_option", with_tls({"--perspective=p:1", "--domain=x.test", "--verbose"}),
       "verbose", "", 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<ObserveArgs> parsed = ParseObserveArgs(c.args);
    if (!c.error.empty()) {
      ASSERT_FALSE(parsed.ok());
      EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.error));
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->request.fqdn(), c.fqdn);
    EXPECT_EQ(parsed->request.kinds_size(), c.kinds);
  }
}

// `vantagectl observe` against a real Perspective server (the service over
// mTLS, in front of a fake observer).
class ObserveCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    tests::TestPkiOptions pki_options;
    pki_options.dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/observe_command_pki";
    absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(pki_options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<tests::TestPki>(*pki);
    observer_.SetResponder([](const v1::ObserveRequest& request) {
      v1::Observation o;
      v1::DnsLookup* l = o.mutable_txt()->mutable_lookup();
      l->set_qname("_validation-persist." + request.fqdn());
      l->set_status(v1::LOOKUP_STATUS_ANSWERED);
      l->set_dnssec_state(v1::DNSSEC_STATE_SECURE);
      o.mutable_txt()->add_records()->add_strings("ca.example; accounturi=x");
      return absl::StatusOr<v1::Observation>(o);
    });
    perspective::PerspectiveService::Options options;
    options.id = "ripe-1";
    options.rir = v1::RIR_RIPE;
    options.tls = pki_->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName});
    options.log = [](absl::string_view) {};
    auto service = perspective::PerspectiveService::Create(options, &observer_, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    auto creds = common::MakeServerCredentials(options.tls, "127.0.0.1:0");
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  std::vector<std::string> Args(const tests::CertFiles& client,
                                std::vector<std::string> extra) const {
    std::vector<std::string> args = {
        absl::StrCat("--perspective=127.0.0.1:", port_),
        "--tls-ca=" + pki_->ca_file(),
        "--tls-cert=" + client.cert_file,
        "--tls-key=" + client.key_file,
        std::string("--tls-server-name=") + tests::kPerspectiveServerName,
    };
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  int Run(const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return ObserveCommand().run(args, out_, err_);
  }

  std::unique_ptr<tests::TestPki> pki_;
  perspective::FakeObserver observer_;
  prometheus::Registry registry_;
  std::unique_ptr<perspective::PerspectiveService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::ostringstream out_, err_;
};

TEST_F(ObserveCommandTest, PrintsTheObservationAsJson) {
  ASSERT_EQ(Run(Args(pki_->client(tests::kVaClientName),
                     {"--domain=Example.TEST", "--request-id=cli-1"})),
            0)
      << err_.str();
  const std::string json = out_.str();
  EXPECT_THAT(json, HasSubstr("\"perspective_id\": \"ripe-1\""));
  EXPECT_THAT(json, HasSubstr("\"rir\": \"RIR_RIPE\""));
  EXPECT_THAT(json, HasSubstr("\"qname\": \"_validation-persist.example.test\""));
  EXPECT_THAT(json, HasSubstr("\"dnssec_state\": \"DNSSEC_STATE_SECURE\""));
  EXPECT_THAT(json, HasSubstr("\"request_id\": \"cli-1\""));
  // TXT strings are bytes: protobuf JSON prints them base64.
  EXPECT_THAT(json, HasSubstr("\"Y2EuZXhhbXBsZTsgYWNjb3VudHVyaT14\""));
  EXPECT_TRUE(err_.str().empty());
}

TEST_F(ObserveCommandTest, FailuresAndUsageHaveTheirExitCodes) {
  EXPECT_EQ(Run(Args(pki_->intruder(), {"--domain=example.test"})), 1);
  EXPECT_THAT(err_.str(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(err_.str(), HasSubstr("client intruder.vantage.test is not in"));
  EXPECT_TRUE(out_.str().empty());

  EXPECT_EQ(Run({"--perspective=127.0.0.1:1", "--domain=example.test", "--insecure",
                 "--timeout=2s"}),
            1);
  EXPECT_THAT(err_.str(), HasSubstr("UNAVAILABLE"));

  EXPECT_EQ(Run(Args(pki_->client(tests::kVaClientName), {})), 2);
  EXPECT_THAT(err_.str(), HasSubstr("vantagectl observe: --domain=NAME is required"));

  // Plaintext to a remote address is refused before anything is sent.
  EXPECT_EQ(Run({"--perspective=192.0.2.1:443", "--domain=example.test", "--insecure"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("insecure_plaintext: only allowed for a loopback target"));
}

}  // namespace
}  // namespace vantage::cli
