#include "common/tls.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/textproto.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/perspective.grpc.pb.h"
#include "tests/pki/test_pki.h"

namespace vantage::common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(SplitHostPortTest, Table) {
  struct Case {
    std::string name, address;
    bool ok;
    std::string host, port;
  };
  const Case cases[] = {
      {"ipv4", "127.0.0.1:443", true, "127.0.0.1", "443"},
      {"port_zero", "127.0.0.1:0", true, "127.0.0.1", "0"},
      {"ipv6", "[::1]:8443", true, "::1", "8443"},
      {"any_v6", "[::]:1", true, "::", "1"},
      {"name", "perspective.example:443", true, "perspective.example", "443"},
      {"no_port", "127.0.0.1", false, "", ""},
      {"empty_port", "127.0.0.1:", false, "", ""},
      {"port_too_big", "127.0.0.1:65536", false, "", ""},
      {"port_sign", "127.0.0.1:+1", false, "", ""},
      {"port_long", "127.0.0.1:000001", false, "", ""},
      {"bare_v6", "::1:443", false, "", ""},
      {"unclosed", "[::1:443", false, "", ""},
      {"no_colon_after_bracket", "[::1]443", false, "", ""},
      {"empty_host", ":443", false, "", ""},
      {"empty", "", false, "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<HostPort> hp = SplitHostPort(c.address);
    ASSERT_EQ(hp.ok(), c.ok) << hp.status();
    if (!c.ok) {
      EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(hp->host, c.host);
    EXPECT_EQ(hp->port, c.port);
  }
}

TEST(IsLoopbackTest, Table) {
  struct Case {
    std::string name, address;
    bool loopback;
  };
  const Case cases[] = {
      {"v4", "127.0.0.1:1", true},
      {"v4_other", "127.53.1.9:53", true},
      {"v6", "[::1]:1", true},
      {"v4_mapped", "[::ffff:127.0.0.1]:1", true},
      {"localhost", "localhost:1", true},
      {"any_v4", "0.0.0.0:443", false},
      {"any_v6", "[::]:443", false},
      {"private", "10.0.0.1:443", false},
      {"v4_mapped_other", "[::ffff:10.0.0.1]:1", false},
      {"looks_like_loopback", "127.0.0.1.example:443", false},
      {"localhost_suffix", "localhost.example:443", false},
      {"no_port", "127.0.0.1", false},
      {"unix", "unix:/tmp/sock", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(IsLoopbackAddress(c.address), c.loopback);
  }
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    tests::TestPkiOptions options;
    options.dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/tls_test_pki";
    absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new tests::TestPki(*pki);
  }
  static v1::TlsServerConfig GoodServer() {
    return pki_->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName});
  }
  static tests::TestPki* pki_;
};
tests::TestPki* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, ValidateTlsServerConfigReportsEveryProblem) {
  struct Case {
    std::string name;
    v1::TlsServerConfig tls;
    std::string listen;
    std::vector<std::string> problems;
  };
  v1::TlsServerConfig empty;
  v1::TlsServerConfig bad_names = GoodServer();
  bad_names.add_allowed_client_names("*.vantage.test");
  bad_names.add_allowed_client_names("VA.vantage.test");
  v1::TlsServerConfig plaintext;
  plaintext.set_insecure_plaintext(true);
  v1::TlsServerConfig reload_1s = GoodServer();
  reload_1s.mutable_reload_interval()->set_seconds(1);
  v1::TlsServerConfig reload_fraction = GoodServer();
  reload_fraction.mutable_reload_interval()->set_nanos(500000000);
  v1::TlsServerConfig reload_too_long = GoodServer();
  reload_too_long.mutable_reload_interval()->set_seconds(86401);
  const Case cases[] = {
      {"good", GoodServer(), "0.0.0.0:443", {}},
      {"reload_1s", reload_1s, "0.0.0.0:443", {}},
      {"reload_fraction",
       reload_fraction,
       "0.0.0.0:443",
       {"x.tls.reload_interval: must be whole seconds within 1s .. 86400s, got 0s "
        "500000000ns"}},
      {"reload_too_long",
       reload_too_long,
       "0.0.0.0:443",
       {"x.tls.reload_interval: must be whole seconds within 1s .. 86400s, got 86401s 0ns"}},
      {"empty",
       empty,
       "0.0.0.0:443",
       {"x.tls.cert_file: required (mTLS on every hop, DESIGN.md Security)",
        "x.tls.key_file: required",
        "x.tls.client_ca_file: required (client certificates are verified)",
        "x.tls.allowed_client_names: required, at least one client name (nobody could "
        "call otherwise)"}},
      {"bad_names",
       bad_names,
       "[::]:443",
       {"x.tls.allowed_client_names[1]: \"*.vantage.test\" is not a lowercase DNS name "
        "without wildcard (matched exactly against the client certificate's DNS SANs or "
        "CN)",
        "x.tls.allowed_client_names[2]: \"VA.vantage.test\" is not a lowercase DNS name "
        "without wildcard (matched exactly against the client certificate's DNS SANs or "
        "CN)"}},
      {"plaintext_loopback", plaintext, "127.0.0.1:0", {}},
      {"plaintext_any",
       plaintext,
       "0.0.0.0:443",
       {"x.tls.insecure_plaintext: only allowed on a loopback listen_address "
        "(127.0.0.0/8, [::1], localhost), got 0.0.0.0:443"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> problems;
    ValidateTlsServerConfig(c.tls, c.listen, "x.tls", &problems);
    EXPECT_EQ(problems, c.problems);
  }
}

TEST_F(TlsTest, CheckTlsServerFilesReadsAndMatchesThem) {
  struct Case {
    std::string name;
    v1::TlsServerConfig tls;
    std::vector<std::string> problem_substrings;
  };
  v1::TlsServerConfig missing = GoodServer();
  missing.set_cert_file("/nonexistent/cert.pem");
  v1::TlsServerConfig mismatch = GoodServer();
  mismatch.set_key_file(pki_->client(tests::kVaClientName).key_file);
  v1::TlsServerConfig key_as_ca = GoodServer();
  key_as_ca.set_client_ca_file(pki_->server(tests::kPerspectiveServerName).key_file);
  v1::TlsServerConfig cert_as_key = GoodServer();
  cert_as_key.set_key_file(pki_->ca_file());
  const Case cases[] = {
      {"good", GoodServer(), {}},
      {"missing", missing, {"tls.cert_file: cannot read /nonexistent/cert.pem"}},
      {"mismatch", mismatch, {"tls.key_file: does not match the certificate in tls.cert_file"}},
      {"key_as_ca", key_as_ca, {"tls.client_ca_file: no PEM certificate in the file"}},
      {"cert_as_key", cert_as_key, {"tls.key_file: no unencrypted PEM private key"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> problems;
    CheckTlsServerFiles(c.tls, "tls", &problems);
    ASSERT_EQ(problems.size(), c.problem_substrings.size()) << ::testing::PrintToString(problems);
    for (size_t i = 0; i < problems.size(); ++i) {
      EXPECT_THAT(problems[i], HasSubstr(c.problem_substrings[i]));
    }
  }
}

TEST_F(TlsTest, ExpiredCertificateIsReported) {
  tests::TestPkiOptions options;
  options.dir = pki_->dir() + "-short";
  options.shift = -absl::Hours(48);  // valid for a day, two days ago
  absl::StatusOr<tests::TestPki> expired = tests::TestPki::Create(options);
  ASSERT_TRUE(expired.ok()) << expired.status();
  std::vector<std::string> problems;
  CheckTlsServerFiles(expired->ServerTls(tests::kPerspectiveServerName, {"a.b"}), "tls",
                      &problems);
  EXPECT_THAT(problems, ElementsAre("tls.cert_file: certificate has expired"));
}

TEST_F(TlsTest, ValidateTlsClientConfigTable) {
  struct Case {
    std::string name;
    v1::TlsClientConfig tls;
    std::string target;
    std::vector<std::string> problems;
  };
  v1::TlsClientConfig good = pki_->ClientTls(pki_->client(tests::kVaClientName), "p.example");
  v1::TlsClientConfig no_ca = good;
  no_ca.clear_ca_file();
  v1::TlsClientConfig half = good;
  half.clear_key_file();
  v1::TlsClientConfig bad_name = good;
  bad_name.set_server_name("P.example:443");
  v1::TlsClientConfig plaintext;
  plaintext.set_insecure_plaintext(true);
  v1::TlsClientConfig reload_zero = good;
  reload_zero.mutable_reload_interval();  // set, 0 s
  const Case cases[] = {
      {"good", good, "10.1.1.1:443", {}},
      {"reload_zero", reload_zero, "10.1.1.1:443",
       {"r.tls.reload_interval: must be whole seconds within 1s .. 86400s, got 0s 0ns"}},
      {"no_client_cert", pki_->ClientTls({}, ""), "10.1.1.1:443", {}},
      {"no_ca", no_ca, "10.1.1.1:443", {"r.tls.ca_file: required (the server certificate is verified)"}},
      {"half", half, "10.1.1.1:443",
       {"r.tls.cert_file/r.tls.key_file: set both (client authentication) or neither"}},
      {"bad_server_name", bad_name, "10.1.1.1:443",
       {"r.tls.server_name: \"P.example:443\" is not a lowercase DNS name"}},
      {"plaintext_loopback", plaintext, "[::1]:5", {}},
      {"plaintext_remote", plaintext, "10.1.1.1:443",
       {"r.tls.insecure_plaintext: only allowed for a loopback target (127.0.0.0/8, "
        "[::1], localhost), got 10.1.1.1:443"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> problems;
    ValidateTlsClientConfig(c.tls, c.target, "r.tls", &problems);
    EXPECT_EQ(problems, c.problems);
  }
}

TEST_F(TlsTest, PlaintextIsRefusedOffLoopback) {
  v1::TlsServerConfig server;
  server.set_insecure_plaintext(true);
  EXPECT_TRUE(MakeServerCredentials(server, "127.0.0.1:0").ok());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      MakeServerCredentials(server, "0.0.0.0:443");
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(creds.status().message(), HasSubstr("tls.insecure_plaintext"));

  v1::TlsClientConfig client;
  client.set_insecure_plaintext(true);
  EXPECT_TRUE(CreateChannel("localhost:1", client).ok());
  EXPECT_EQ(CreateChannel("192.0.2.1:443", client).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A Perspective service whose only job is to run the allow-list check and
// record what PeerNames saw.
class AuthorizingService final : public v1::Perspective::CallbackService {
 public:
  explicit AuthorizingService(ClientAuthorizer authorizer) : authorizer_(std::move(authorizer)) {}
  grpc::ServerUnaryReactor* Observe(grpc::CallbackServerContext* context,
                                    const v1::ObserveRequest* request,
                                    v1::Observation* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
    {
      absl::MutexLock lock(&mu_);
      last_peer_names_ = PeerNames(*auth);
    }
    absl::Status allowed = authorizer_.Authorize(auth.get());
    if (!allowed.ok()) {
      reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(allowed.code()),
                                   std::string(allowed.message())));
      return reactor;
    }
    response->set_request_id(request->request_id());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  std::vector<std::string> last_peer_names() {
    absl::MutexLock lock(&mu_);
    return last_peer_names_;
  }

 private:
  ClientAuthorizer authorizer_;
  absl::Mutex mu_;
  std::vector<std::string> last_peer_names_;
};

TEST_F(TlsTest, MutualTlsOverARealServer) {
  const v1::TlsServerConfig server_tls = GoodServer();
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      MakeServerCredentials(server_tls, "127.0.0.1:0");
  ASSERT_TRUE(creds.ok()) << creds.status();
  AuthorizingService service(ClientAuthorizer::Create(server_tls));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);
  const std::string target = absl::StrCat("127.0.0.1:", port);

  v1::TlsClientConfig wrong_ca = pki_->ClientTls(pki_->client(tests::kVaClientName), "");
  wrong_ca.set_ca_file(pki_->other_ca_file());
  v1::TlsClientConfig plaintext;
  plaintext.set_insecure_plaintext(true);
  struct Case {
    std::string name;
    v1::TlsClientConfig tls;
    grpc::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"allowed_client", pki_->ClientTls(pki_->client(tests::kVaClientName), ""),
       grpc::StatusCode::OK, ""},
      {"allowed_client_with_server_name",
       pki_->ClientTls(pki_->client(tests::kVaClientName), tests::kPerspectiveServerName),
       grpc::StatusCode::OK, ""},
      {"intruder_same_ca", pki_->ClientTls(pki_->intruder(), ""),
       grpc::StatusCode::PERMISSION_DENIED,
       "client intruder.vantage.test is not in tls.allowed_client_names"},
      {"ra_not_allowed_here", pki_->ClientTls(pki_->client(tests::kRaClientName), ""),
       grpc::StatusCode::PERMISSION_DENIED,
       "client ra.vantage.test is not in tls.allowed_client_names"},
      // Refused in the handshake: the RPC never reaches the service.
      {"no_client_certificate", pki_->ClientTls({}, ""), grpc::StatusCode::UNAVAILABLE, ""},
      {"rogue_ca_allowed_name", pki_->ClientTls(pki_->rogue(), ""),
       grpc::StatusCode::UNAVAILABLE, ""},
      {"wrong_server_name",
       pki_->ClientTls(pki_->client(tests::kVaClientName), "other.vantage.test"),
       grpc::StatusCode::UNAVAILABLE, ""},
      {"server_not_trusted", wrong_ca, grpc::StatusCode::UNAVAILABLE, ""},
      {"plaintext_client", plaintext, grpc::StatusCode::UNAVAILABLE, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateChannel(target, c.tls);
    ASSERT_TRUE(channel.ok()) << channel.status();
    auto stub = v1::Perspective::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::ObserveRequest request;
    request.set_request_id(c.name);
    v1::Observation response;
    const grpc::Status status = stub->Observe(&ctx, request, &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    if (!c.message.empty()) {
      EXPECT_EQ(status.error_message(), c.message);
    }
    if (c.code == grpc::StatusCode::OK) {
      EXPECT_EQ(response.request_id(), c.name);
      EXPECT_THAT(service.last_peer_names(), ElementsAre(tests::kVaClientName));
    }
  }
  server->Shutdown();
}

// Copies `from` over `to` the way a certificate renewal must (and the kubelet
// does for a mounted Secret): written beside it, then renamed into place.
void ReplaceFile(const std::string& from, const std::string& to) {
  absl::StatusOr<std::string> data = ReadFile(from);
  ASSERT_TRUE(data.ok()) << data.status();
  const std::string tmp = to + ".new";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << *data;
    ASSERT_TRUE(out.good()) << tmp;
  }
  ASSERT_EQ(std::rename(tmp.c_str(), to.c_str()), 0) << to;
}

// CallOn makes one Observe call on `channel`.
grpc::Status CallOn(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = v1::Perspective::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ObserveRequest request;
  request.set_request_id("reload");
  v1::Observation response;
  return stub->Observe(&ctx, request, &response);
}

// CallOnce makes one Observe call on a NEW connection (a channel of its own,
// with a subchannel pool of its own: no connection is shared with an earlier
// channel, so every call is a fresh handshake); `keep` receives the channel.
grpc::Status CallOnce(const std::string& target, const v1::TlsClientConfig& tls,
                      std::shared_ptr<grpc::Channel>* keep = nullptr) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateChannel(target, tls, args);
  if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, "no channel");
  if (keep != nullptr) *keep = *channel;
  return CallOn(*channel);
}

// Retries `call` every 100 ms for up to 15 s (3 reload intervals of 1 s and
// plenty of slack) until it returns `code`; the last status otherwise.
template <typename Call>
grpc::Status AwaitCode(grpc::StatusCode code, Call call) {
  grpc::Status status;
  for (int i = 0; i < 150; ++i) {
    status = call();
    if (status.error_code() == code) return status;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return status;
}

// ReloadingServer: an AuthorizingService on 127.0.0.1 whose certificate and
// key are copies (in `dir`) of the perspective server's, read again every
// second. `max_connection_age_ms` > 0 makes the server end every connection
// after that long, so a kept client channel handshakes again.
struct ReloadingServer {
  v1::TlsServerConfig tls;
  std::unique_ptr<AuthorizingService> service;
  std::unique_ptr<grpc::Server> server;
  std::string target;

  static std::unique_ptr<ReloadingServer> Start(const v1::TlsServerConfig& base,
                                                const tests::CertFiles& files,
                                                const std::string& dir,
                                                int max_connection_age_ms) {
    auto s = std::make_unique<ReloadingServer>();
    s->tls = base;
    s->tls.set_cert_file(dir + "/server.pem");
    s->tls.set_key_file(dir + "/server.key");
    s->tls.mutable_reload_interval()->set_seconds(1);
    if (std::system(("mkdir -p " + dir).c_str()) != 0) return nullptr;
    ReplaceFile(files.cert_file, s->tls.cert_file());
    ReplaceFile(files.key_file, s->tls.key_file());
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
        MakeServerCredentials(s->tls, "127.0.0.1:0");
    if (!creds.ok()) return nullptr;
    s->service = std::make_unique<AuthorizingService>(ClientAuthorizer::Create(s->tls));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port);
    builder.RegisterService(s->service.get());
    if (max_connection_age_ms > 0) {
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, max_connection_age_ms);
      builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 100);
    }
    s->server = builder.BuildAndStart();
    if (s->server == nullptr || port == 0) return nullptr;
    s->target = absl::StrCat("127.0.0.1:", port);
    return s;
  }
  ~ReloadingServer() {
    if (server != nullptr) server->Shutdown();
  }
};

// deploy/RUNBOOK.md "Certificate renewal": renewed files are used without a
// restart - the server's certificate and key, and a client's certificate on
// its next connection - read again every reload_interval.
TEST_F(TlsTest, RenewedCertificatesAreUsedWithoutRestart) {
  const std::string dir = pki_->dir() + "/reload";
  const tests::CertFiles va = pki_->server(tests::kVaServerName);
  // The server ends every connection after 300 ms: see the client side below.
  std::unique_ptr<ReloadingServer> srv = ReloadingServer::Start(
      GoodServer(), pki_->server(tests::kPerspectiveServerName), dir, 300);
  ASSERT_NE(srv, nullptr);
  const v1::TlsServerConfig& server_tls = srv->tls;
  const std::string& target = srv->target;

  // The client's own files, renewed below too.
  v1::TlsClientConfig client = pki_->ClientTls(pki_->client(tests::kVaClientName), "");
  client.set_cert_file(dir + "/client.pem");
  client.set_key_file(dir + "/client.key");
  client.mutable_reload_interval()->set_seconds(1);
  ReplaceFile(pki_->client(tests::kVaClientName).cert_file, client.cert_file());
  ReplaceFile(pki_->client(tests::kVaClientName).key_file, client.key_file());

  v1::TlsClientConfig to_perspective = client;
  to_perspective.set_server_name(tests::kPerspectiveServerName);
  v1::TlsClientConfig to_va = client;
  to_va.set_server_name(tests::kVaServerName);
  EXPECT_TRUE(CallOnce(target, to_perspective).ok());
  EXPECT_EQ(CallOnce(target, to_va).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Server side: the certificate for another name is presented once read.
  ReplaceFile(va.cert_file, server_tls.cert_file());
  ReplaceFile(va.key_file, server_tls.key_file());
  grpc::Status status =
      AwaitCode(grpc::StatusCode::OK, [&] { return CallOnce(target, to_va); });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(CallOnce(target, to_perspective).error_code(), grpc::StatusCode::UNAVAILABLE);

  // Client side: a channel made BEFORE the client's files change (a new
  // channel would read the new files anyway). The server ends every
  // connection after 300 ms, so the channel keeps handshaking again; once
  // its files were read again it presents the new certificate - here one
  // whose name is in no allow-list.
  std::shared_ptr<grpc::Channel> kept;
  status = CallOnce(target, to_va, &kept);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ReplaceFile(pki_->intruder().cert_file, client.cert_file());
  ReplaceFile(pki_->intruder().key_file, client.key_file());
  status = AwaitCode(grpc::StatusCode::PERMISSION_DENIED, [&] { return CallOn(kept); });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(status.error_message(),
            "client intruder.vantage.test is not in tls.allowed_client_names");
}

// A renewal gone wrong is never accepted and does not outlive a good one
// (deploy/RUNBOOK.md "Certificate renewal"): a key file gone missing keeps
// the last good pair; a new certificate beside the OLD key fails every
// handshake that needs it (the server cannot prove it holds the key); the
// matching key repairs it at the next read.
TEST_F(TlsTest, BrokenRenewalIsNeverAccepted) {
  const std::string dir = pki_->dir() + "/broken";
  const tests::CertFiles perspective = pki_->server(tests::kPerspectiveServerName);
  const tests::CertFiles va = pki_->server(tests::kVaServerName);
  std::unique_ptr<ReloadingServer> srv = ReloadingServer::Start(GoodServer(), perspective, dir, 0);
  ASSERT_NE(srv, nullptr);
  const v1::TlsServerConfig& server_tls = srv->tls;
  const std::string& target = srv->target;
  const v1::TlsClientConfig to_perspective =
      pki_->ClientTls(pki_->client(tests::kVaClientName), tests::kPerspectiveServerName);
  const v1::TlsClientConfig to_va =
      pki_->ClientTls(pki_->client(tests::kVaClientName), tests::kVaServerName);
  ASSERT_TRUE(CallOnce(target, to_perspective).ok());

  // The key file disappears: 2.5 reload intervals later, still served.
  ASSERT_EQ(std::remove(server_tls.key_file().c_str()), 0);
  absl::SleepFor(absl::Milliseconds(2500));
  grpc::Status status = CallOnce(target, to_perspective);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // The new certificate arrives beside the old key: never accepted.
  ReplaceFile(perspective.key_file, server_tls.key_file());
  ReplaceFile(va.cert_file, server_tls.cert_file());
  for (int i = 0; i < 25; ++i) {  // 2.5 s: 2.5 reload intervals
    status = CallOnce(target, to_va);
    ASSERT_FALSE(status.ok()) << "a certificate was served without its key, call " << i;
    absl::SleepFor(absl::Milliseconds(100));
  }

  // Its key follows: repaired.
  ReplaceFile(va.key_file, server_tls.key_file());
  status = AwaitCode(grpc::StatusCode::OK, [&] { return CallOnce(target, to_va); });
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(ClientAuthorizerTest, NoAuthContextIsUnauthenticated) {
  v1::TlsServerConfig tls;
  tls.add_allowed_client_names("va.vantage.test");
  EXPECT_EQ(ClientAuthorizer::Create(tls).Authorize(nullptr).code(),
            absl::StatusCode::kUnauthenticated);
  tls.set_insecure_plaintext(true);
  EXPECT_TRUE(ClientAuthorizer::Create(tls).Authorize(nullptr).ok());
  EXPECT_THAT(std::vector<std::string>{}, IsEmpty());
}

}  // namespace
}  // namespace vantage::common
