#include "perspective/remote_observer.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "perspective/fake_observer.h"
#include "perspective/service.h"
#include "prometheus/registry.h"
#include "tests/pki/test_pki.h"

namespace vantage::perspective {
namespace {

using ::testing::HasSubstr;

std::string TmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

// The Observation the fake perspective makes for a request: the fqdn goes
// into the TXT qname so each answer can be matched to its request.
absl::StatusOr<v1::Observation> EchoObservation(const v1::ObserveRequest& request) {
  v1::Observation o;
  v1::DnsLookup* lookup = o.mutable_txt()->mutable_lookup();
  lookup->set_qname(absl::StrCat("_validation-persist.", request.fqdn()));
  lookup->set_status(v1::LOOKUP_STATUS_ANSWERED);
  lookup->set_dnssec_state(v1::DNSSEC_STATE_SECURE);
  return o;
}

// Result of one Observe, waited for.
struct Outcome {
  absl::Notification done;
  absl::StatusOr<v1::Observation> result;
  Observer::Done Callback() {
    return [this](absl::StatusOr<v1::Observation> r) {
      result = std::move(r);
      done.Notify();
    };
  }
};

class RemoteObserverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (pki_ != nullptr) return;  // shared by both suites (the modes and the rest)
    tests::TestPkiOptions options;
    options.dir = TmpDir() + "/remote_observer_test_pki";
    absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new tests::TestPki(*pki);
  }

  // A real Perspective server (PerspectiveService over mTLS) in front of
  // the fake observer, identity apnic-1 / APNIC.
  void SetUp() override {
    observer_.SetResponder(EchoObservation);
    PerspectiveService::Options options;
    options.id = "apnic-1";
    options.rir = v1::RIR_APNIC;
    options.tls = pki_->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName});
    options.log = [](absl::string_view) {};
    absl::StatusOr<std::unique_ptr<PerspectiveService>> service =
        PerspectiveService::Create(options, &observer_, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    server_tls_ = options.tls;
    StartServer("127.0.0.1:0");
  }
  // StartServer serves the service on `address` (port 0: any; port_ is set).
  void StartServer(const std::string& address) {
    auto creds = common::MakeServerCredentials(server_tls_, address);
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, *creds, &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    observer_.Release();
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  RemoteObserver::Options Options() const {
    RemoteObserver::Options options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    options.tls = pki_->ClientTls(pki_->client(tests::kVaClientName), tests::kPerspectiveServerName);
    options.expected_id = "apnic-1";
    options.expected_rir = v1::RIR_APNIC;
    options.use_stream = use_stream_;
    return options;
  }

  std::unique_ptr<RemoteObserver> Make(const RemoteObserver::Options& options) {
    absl::StatusOr<std::unique_ptr<RemoteObserver>> remote = RemoteObserver::Create(options);
    EXPECT_TRUE(remote.ok()) << remote.status();
    return remote.ok() ? *std::move(remote) : nullptr;
  }

  static v1::ObserveRequest Request(const std::string& fqdn, const std::string& id = "r1") {
    v1::ObserveRequest r;
    r.set_fqdn(fqdn);
    r.set_request_id(id);
    return r;
  }

  static tests::TestPki* pki_;
  FakeObserver observer_;
  prometheus::Registry registry_;
  std::unique_ptr<PerspectiveService> service_;
  v1::TlsServerConfig server_tls_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool use_stream_ = true;
};
tests::TestPki* RemoteObserverTest::pki_ = nullptr;

// The behaviour every caller relies on is the same over the stream (the
// default) and over unary calls.
class RemoteObserverModeTest : public RemoteObserverTest,
                               public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    use_stream_ = GetParam();
    RemoteObserverTest::SetUp();
  }
};
INSTANTIATE_TEST_SUITE_P(Modes, RemoteObserverModeTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Stream" : "Unary";
                         });

TEST_P(RemoteObserverModeTest, ReturnsTheRemoteObservation) {
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  Outcome out;
  remote->Observe(Request("example.test"), absl::Now() + absl::Seconds(5), out.Callback());
  ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(out.result.ok()) << out.result.status();
  EXPECT_EQ(out.result->perspective_id(), "apnic-1");
  EXPECT_EQ(out.result->rir(), v1::RIR_APNIC);
  EXPECT_EQ(out.result->request_id(), "r1");
  EXPECT_EQ(out.result->txt().lookup().qname(), "_validation-persist.example.test");
}

TEST_P(RemoteObserverModeTest, ErrorsKeepTheirCodeAndNameThePerspective) {
  struct Case {
    std::string name;
    RemoteObserver::Options options;
    v1::ObserveRequest request;
    absl::StatusCode code;
    std::string message;
  };
  RemoteObserver::Options wrong_id = Options();
  wrong_id.expected_id = "apnic-2";
  RemoteObserver::Options wrong_rir = Options();
  wrong_rir.expected_rir = v1::RIR_RIPE;
  RemoteObserver::Options unchecked = wrong_id;
  unchecked.verify_identity = false;
  RemoteObserver::Options intruder = Options();
  intruder.tls = pki_->ClientTls(pki_->intruder(), tests::kPerspectiveServerName);
  RemoteObserver::Options no_cert = Options();
  no_cert.tls = pki_->ClientTls({}, tests::kPerspectiveServerName);
  RemoteObserver::Options nobody_there = Options();
  nobody_there.address = "127.0.0.1:1";
  const Case cases[] = {
      {"wrong_id", wrong_id, Request("example.test"), absl::StatusCode::kFailedPrecondition,
       absl::StrCat("perspective apnic-2 at 127.0.0.1:", port_,
                    ": answered as id \"apnic-1\" rir RIR_APNIC, expected id \"apnic-2\" rir "
                    "RIR_APNIC")},
      {"wrong_rir", wrong_rir, Request("example.test"), absl::StatusCode::kFailedPrecondition,
       "expected id \"apnic-1\" rir RIR_RIPE"},
      {"unchecked", unchecked, Request("example.test"), absl::StatusCode::kOk, ""},
      {"invalid_fqdn", Options(), Request("*.example.test"), absl::StatusCode::kInvalidArgument,
       absl::StrCat("perspective apnic-1 at 127.0.0.1:", port_, ": fqdn: ")},
      {"intruder", intruder, Request("example.test"), absl::StatusCode::kPermissionDenied,
       "client intruder.vantage.test is not in tls.allowed_client_names"},
      {"no_client_cert", no_cert, Request("example.test"), absl::StatusCode::kUnavailable, ""},
      {"nobody_there", nobody_there, Request("example.test"), absl::StatusCode::kUnavailable,
       "perspective apnic-1 at 127.0.0.1:1: "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::unique_ptr<RemoteObserver> remote = Make(c.options);
    ASSERT_NE(remote, nullptr);
    Outcome out;
    remote->Observe(c.request, absl::Now() + absl::Seconds(5), out.Callback());
    ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_EQ(out.result.status().code(), c.code) << out.result.status();
    EXPECT_THAT(std::string(out.result.status().message()), HasSubstr(c.message));
  }
}

TEST_P(RemoteObserverModeTest, AnswersDeadlineExceededByTheDeadline) {
  observer_.Hold();
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->WaitForConnected(absl::Now() + absl::Seconds(5)));
  Outcome out;
  const absl::Time start = absl::Now();
  remote->Observe(Request("example.test"), start + absl::Milliseconds(300), out.Callback());
  ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(out.result.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Seconds(2));
}

TEST_P(RemoteObserverModeTest, ManyCallsInFlightOnOneChannel) {
  observer_.Hold();
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  constexpr int kCalls = 200;
  std::vector<std::unique_ptr<Outcome>> outs;
  for (int i = 0; i < kCalls; ++i) {
    outs.push_back(std::make_unique<Outcome>());
    remote->Observe(Request(absl::StrCat("n", i, ".example.test"), absl::StrCat("id-", i)),
                    absl::Now() + absl::Seconds(20), outs.back()->Callback());
  }
  // All 200 reach the perspective before any is answered: truly concurrent.
  ASSERT_TRUE(observer_.WaitForHeld(kCalls));
  observer_.Release();
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(outs[i]->done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    ASSERT_TRUE(outs[i]->result.ok()) << i << ": " << outs[i]->result.status();
    EXPECT_EQ(outs[i]->result->request_id(), absl::StrCat("id-", i));
    EXPECT_EQ(outs[i]->result->txt().lookup().qname(),
              absl::StrCat("_validation-persist.n", i, ".example.test"));
  }
  // Over the stream: all of them on ONE ObserveStream call.
  EXPECT_EQ(remote->StreamsStarted(), GetParam() ? 1 : 0);
}

TEST_P(RemoteObserverModeTest, DestructorCancelsCallsInFlight) {
  observer_.Hold();
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  Outcome out;
  remote->Observe(Request("example.test"), absl::Now() + absl::Seconds(30), out.Callback());
  ASSERT_TRUE(observer_.WaitForHeld(1));
  remote.reset();  // returns only after `done` ran
  ASSERT_TRUE(out.done.HasBeenNotified());
  EXPECT_EQ(out.result.status().code(), absl::StatusCode::kCancelled);
}

// A perspective that was down for a while (here 20 s, while the VA kept
// asking) is used again within ~1 s of coming back: gRPC's default backoff
// would by then wait ~10 s between connection attempts (1 s x 1.6^n).
TEST_P(RemoteObserverModeTest, RestartedPerspectiveIsUsedAgainWithinTwoAndAHalfSeconds) {
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->WaitForConnected(absl::Now() + absl::Seconds(5)));
  const int port = port_;
  server_->Shutdown(absl::ToChronoTime(absl::Now()));
  server_->Wait();
  server_.reset();
  // Down: every call fails (fail closed), the channel keeps retrying.
  const absl::Time back_at = absl::Now() + absl::Seconds(20);
  int refused = 0;
  while (absl::Now() < back_at) {
    Outcome out;
    remote->Observe(Request("example.test"), absl::Now() + absl::Seconds(1), out.Callback());
    ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
    ASSERT_FALSE(out.result.ok());
    ++refused;
    absl::SleepFor(absl::Milliseconds(100));  // the pace of validations asking it
  }
  EXPECT_GT(refused, 10);
  StartServer(absl::StrCat("127.0.0.1:", port));
  ASSERT_EQ(port_, port);
  const absl::Time restarted = absl::Now();
  bool answered = false;
  while (!answered && absl::Now() < restarted + absl::Seconds(15)) {
    Outcome out;
    remote->Observe(Request("example.test"), absl::Now() + absl::Seconds(1), out.Callback());
    ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
    answered = out.result.ok();
    if (!answered) absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration took = absl::Now() - restarted;
  ASSERT_TRUE(answered);
  EXPECT_LT(took, absl::Milliseconds(2500)) << "reached again only after " << took;
}

// A perspective built before ObserveStream: it answers the stream with
// UNIMPLEMENTED; the observer asks the same request again as a unary call
// (nothing was observed) and keeps to unary calls afterwards.
class UnaryOnlyPerspective final : public v1::Perspective::Service {
 public:
  grpc::Status Observe(grpc::ServerContext*, const v1::ObserveRequest* request,
                       v1::Observation* response) override {
    ++calls;
    *response = *EchoObservation(*request);
    response->set_perspective_id("apnic-1");
    response->set_rir(v1::RIR_APNIC);
    response->set_request_id(request->request_id());
    return grpc::Status::OK;
  }
  std::atomic<int> calls{0};
};

TEST_F(RemoteObserverTest, FallsBackToUnaryCallsAgainstAPerspectiveWithoutObserveStream) {
  server_->Shutdown(absl::ToChronoTime(absl::Now()));
  server_->Wait();
  UnaryOnlyPerspective old;
  auto creds = common::MakeServerCredentials(server_tls_, "127.0.0.1:0");
  ASSERT_TRUE(creds.ok()) << creds.status();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
  builder.RegisterService(&old);
  server_ = builder.BuildAndStart();
  ASSERT_NE(server_, nullptr);

  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    Outcome out;
    remote->Observe(Request(absl::StrCat("n", i, ".example.test"), absl::StrCat("id-", i)),
                    absl::Now() + absl::Seconds(5), out.Callback());
    ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    ASSERT_TRUE(out.result.ok()) << out.result.status();
    EXPECT_EQ(out.result->request_id(), absl::StrCat("id-", i));
    EXPECT_EQ(out.result->txt().lookup().qname(),
              absl::StrCat("_validation-persist.n", i, ".example.test"));
  }
  EXPECT_EQ(old.calls.load(), 3);
  EXPECT_EQ(remote->StreamsStarted(), 1);  // tried once, then unary
}

// When the stream breaks under them (here the perspective goes away), the
// requests it carried fail UNAVAILABLE at once - not at their deadline - so
// the VA decides without them; the next request opens a new stream.
TEST_F(RemoteObserverTest, BrokenStreamFailsItsRequestsAtOnceAndTheNextOneReopens) {
  observer_.Hold();
  std::unique_ptr<RemoteObserver> remote = Make(Options());
  ASSERT_NE(remote, nullptr);
  constexpr int kCalls = 5;
  std::vector<std::unique_ptr<Outcome>> outs;
  for (int i = 0; i < kCalls; ++i) {
    outs.push_back(std::make_unique<Outcome>());
    remote->Observe(Request(absl::StrCat("n", i, ".example.test"), absl::StrCat("id-", i)),
                    absl::Now() + absl::Seconds(30), outs.back()->Callback());
  }
  ASSERT_TRUE(observer_.WaitForHeld(kCalls));
  EXPECT_EQ(remote->StreamsStarted(), 1);
  const int port = port_;
  const absl::Time broken = absl::Now();
  std::thread stop([this]() {
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_->Wait();
  });
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(outs[i]->done.WaitForNotificationWithTimeout(absl::Seconds(10))) << i;
    EXPECT_EQ(outs[i]->result.status().code(), absl::StatusCode::kUnavailable)
        << outs[i]->result.status();
    EXPECT_THAT(std::string(outs[i]->result.status().message()),
                HasSubstr(absl::StrCat("perspective apnic-1 at 127.0.0.1:", port)));
  }
  EXPECT_LT(absl::Now() - broken, absl::Seconds(5));
  observer_.Release();
  stop.join();
  server_.reset();

  StartServer(absl::StrCat("127.0.0.1:", port));
  ASSERT_EQ(port_, port);
  bool answered = false;
  for (int attempt = 0; attempt < 100 && !answered; ++attempt) {
    Outcome out;
    remote->Observe(Request("again.example.test"), absl::Now() + absl::Seconds(1),
                    out.Callback());
    ASSERT_TRUE(out.done.WaitForNotificationWithTimeout(absl::Seconds(5)));
    answered = out.result.ok();
    if (!answered) absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(answered);
  EXPECT_GE(remote->StreamsStarted(), 2);
}

TEST(RemoteObserverCreateTest, RefusesIncompleteOptions) {
  struct Case {
    std::string name;
    RemoteObserver::Options options;
    absl::StatusCode code;
  };
  RemoteObserver::Options no_address;
  no_address.expected_id = "x";
  no_address.expected_rir = v1::RIR_ARIN;
  RemoteObserver::Options no_identity;
  no_identity.address = "127.0.0.1:1";
  no_identity.tls.set_insecure_plaintext(true);
  RemoteObserver::Options plaintext_remote = no_address;
  plaintext_remote.address = "192.0.2.1:443";
  plaintext_remote.tls.set_insecure_plaintext(true);
  RemoteObserver::Options no_ca = no_address;
  no_ca.address = "192.0.2.1:443";
  const Case cases[] = {
      {"no_address", no_address, absl::StatusCode::kInvalidArgument},
      {"no_identity", no_identity, absl::StatusCode::kInvalidArgument},
      {"plaintext_remote", plaintext_remote, absl::StatusCode::kFailedPrecondition},
      {"no_ca", no_ca, absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(RemoteObserver::Create(c.options).status().code(), c.code);
  }
}

}  // namespace
}  // namespace vantage::perspective
