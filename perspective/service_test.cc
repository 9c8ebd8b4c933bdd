#include "perspective/service.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "common/flush_scope.h"
#include "common/tls.h"
#include "perspective/fake_observer.h"
#include "prometheus/registry.h"
#include "proto/perspective.grpc.pb.h"
#include "tests/pki/test_pki.h"

namespace vantage::perspective {
namespace {

using ::testing::HasSubstr;

v1::Observation SecureTxtObservation() {
  v1::Observation o;
  o.set_perspective_id("whatever-the-observer-says");
  v1::DnsLookup* lookup = o.mutable_txt()->mutable_lookup();
  lookup->set_qname("_validation-persist.example.test");
  lookup->set_qtype(16);
  lookup->set_status(v1::LOOKUP_STATUS_ANSWERED);
  lookup->set_rcode(0);
  lookup->set_dnssec_state(v1::DNSSEC_STATE_SECURE);
  lookup->mutable_duration()->set_nanos(2000000);
  o.mutable_txt()->add_records()->add_strings("ca.example; accounturi=x");
  v1::CaaStep* step = o.mutable_caa()->add_steps();
  step->mutable_lookup()->set_status(v1::LOOKUP_STATUS_TIMED_OUT);
  step->mutable_lookup()->set_dnssec_state(v1::DNSSEC_STATE_INDETERMINATE);
  return o;
}

// Value of a counter/gauge series (or a histogram's count) in `registry`.
double MetricValue(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& l : m.label) got[l.name] = l.value;
      if (got != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return m.counter.value;
        case prometheus::MetricType::Gauge:
          return m.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(m.histogram.sample_count);
        case prometheus::MetricType::Summary:
        case prometheus::MetricType::Untyped:
          return -1;
      }
    }
  }
  return -1;  // absent
}

std::string TmpDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

class ServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tests::TestPkiOptions options;
    options.dir = TmpDir() + "/service_test_pki";
    absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(options);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new tests::TestPki(*pki);
  }

  PerspectiveService::Options BaseOptions() {
    PerspectiveService::Options options;
    options.id = "ripe-1";
    options.rir = v1::RIR_RIPE;
    options.region = "eu-west-1";
    options.tls = pki_->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName});
    options.lookup_timeout = absl::Seconds(5);
    options.log = [this](absl::string_view line) {
      absl::MutexLock lock(&log_mu_);
      log_.push_back(std::string(line));
    };
    return options;
  }

  // StartServer serves `options` over mTLS on 127.0.0.1:0.
  // StartServer serves a PerspectiveService over mTLS in front of
  // `observer` (default: the fixture's FakeObserver).
  void StartServer(PerspectiveService::Options options, Observer* observer = nullptr) {
    absl::StatusOr<std::unique_ptr<PerspectiveService>> service = PerspectiveService::Create(
        std::move(options), observer != nullptr ? observer : &observer_, &registry_);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    auto creds = common::MakeServerCredentials(
        pki_->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName}), "127.0.0.1:0");
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *creds, &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  std::unique_ptr<v1::Perspective::Stub> Stub(const tests::CertFiles& client) {
    auto channel = common::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                         pki_->ClientTls(client, ""));
    EXPECT_TRUE(channel.ok()) << channel.status();
    return v1::Perspective::NewStub(*channel);
  }

  // Callers the perspective must refuse: named but not allowed
  // (PERMISSION_DENIED, counted), or refused in the handshake (UNAVAILABLE).
  struct RefusedClient {
    std::string name;
    tests::CertFiles client;
    grpc::StatusCode code;
    std::string message;  // exact, when not empty
  };
  static std::vector<RefusedClient> RefusedClients() {
    return {
        {"intruder", pki_->intruder(), grpc::StatusCode::PERMISSION_DENIED,
         "client intruder.vantage.test is not in tls.allowed_client_names"},
        {"ra", pki_->client(tests::kRaClientName), grpc::StatusCode::PERMISSION_DENIED,
         "client ra.vantage.test is not in tls.allowed_client_names"},
        {"no_certificate", {}, grpc::StatusCode::UNAVAILABLE, ""},
        {"rogue_ca", pki_->rogue(), grpc::StatusCode::UNAVAILABLE, ""},
    };
  }

  // What an observer's error becomes for the caller, and the refusal
  // reason counted for it.
  struct ObserverErrorCase {
    std::string name;
    absl::Status error;
    grpc::StatusCode code;
    std::string reason;
  };
  static std::vector<ObserverErrorCase> ObserverErrorCases() {
    return {
        {"exhausted", absl::ResourceExhaustedError("too many lookups"),
         grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted"},
        {"deadline", absl::DeadlineExceededError("late"), grpc::StatusCode::DEADLINE_EXCEEDED,
         "deadline_exceeded"},
        {"unavailable", absl::UnavailableError("resolver shutting down"),
         grpc::StatusCode::UNAVAILABLE, "observer_error"},
    };
  }

  grpc::Status Call(v1::Perspective::Stub* stub, const v1::ObserveRequest& request,
                    v1::Observation* response, absl::Duration timeout = absl::Seconds(10)) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return stub->Observe(&ctx, request, response);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  std::vector<std::string> Log() {
    absl::MutexLock lock(&log_mu_);
    return log_;
  }

  static tests::TestPki* pki_;
  FakeObserver observer_;
  prometheus::Registry registry_;
  std::unique_ptr<PerspectiveService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex log_mu_;
  std::vector<std::string> log_;
};
tests::TestPki* ServiceTest::pki_ = nullptr;

v1::ObserveRequest Request(const std::string& fqdn, const std::string& request_id = "req-1") {
  v1::ObserveRequest r;
  r.set_fqdn(fqdn);
  r.set_request_id(request_id);
  return r;
}

TEST_F(ServiceTest, AllowedClientGetsTheObservationStampedWithOurIdentity) {
  observer_.SetResult(SecureTxtObservation());
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  v1::ObserveRequest request = Request("example.test", "abc-123");
  request.add_kinds(v1::LOOKUP_KIND_TXT_PERSIST);
  request.add_kinds(v1::LOOKUP_KIND_CAA);
  v1::Observation response;
  const grpc::Status status = Call(stub.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.perspective_id(), "ripe-1");
  EXPECT_EQ(response.rir(), v1::RIR_RIPE);
  EXPECT_EQ(response.region(), "eu-west-1");
  EXPECT_EQ(response.request_id(), "abc-123");
  EXPECT_EQ(response.txt().records(0).strings(0), "ca.example; accounturi=x");
  EXPECT_EQ(observer_.calls(), 1u);

  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_lookups_total",
                        {{"kind", "txt_persist"}, {"rcode", "NOERROR"}, {"dnssec", "secure"}}),
            1);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_lookups_total",
                        {{"kind", "caa"}, {"rcode", "timed_out"}, {"dnssec", "indeterminate"}}),
            1);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_lookup_duration_seconds",
                        {{"kind", "txt_persist"}}),
            1);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_in_flight", {}), 0);
}

TEST_F(ServiceTest, ClientsNotAllowedAreRefusedAndCounted) {
  observer_.SetResult(SecureTxtObservation());
  StartServer(BaseOptions());
  for (const RefusedClient& c : RefusedClients()) {
    SCOPED_TRACE(c.name);
    auto stub = Stub(c.client);
    v1::Observation response;
    const grpc::Status status = Call(stub.get(), Request("example.test"), &response);
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    if (!c.message.empty()) {
      EXPECT_EQ(status.error_message(), c.message);
    }
  }
  EXPECT_EQ(observer_.calls(), 0u);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "permission_denied"}}),
            2);
  // Handshake failures never reach the service (no counter can see them).
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "unauthenticated"}}),
            0);
  const std::vector<std::string> log = Log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_THAT(log[0], HasSubstr("request_id=req-1 peer=ipv4:127.0.0.1:"));
  EXPECT_THAT(log[0], HasSubstr("refused permission_denied: PERMISSION_DENIED: client "
                                "intruder.vantage.test"));
}

TEST_F(ServiceTest, BadRequestsNeverReachTheObserver) {
  observer_.SetResult(SecureTxtObservation());
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  struct Case {
    std::string name;
    v1::ObserveRequest request;
    std::string message;
  };
  v1::ObserveRequest bad_kind = Request("example.test");
  bad_kind.add_kinds(v1::LOOKUP_KIND_UNSPECIFIED);
  v1::ObserveRequest bad_id = Request("example.test", "a\nb");
  const Case cases[] = {
      {"empty", Request(""), "fqdn: required (the domain to observe)"},
      {"wildcard", Request("*.example.test"), "fqdn: "},
      {"ip", Request("192.0.2.1"), "fqdn: "},
      {"upper", Request("Example.test"), "fqdn: "},
      {"bad_kind", bad_kind, "kinds[0]: 0 is not LOOKUP_KIND_TXT_PERSIST (1) or LOOKUP_KIND_CAA (2)"},
      {"bad_request_id", bad_id, "request_id: printable ASCII only, octet 1 is 0x0a"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::Observation response;
    const grpc::Status status = Call(stub.get(), c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  EXPECT_EQ(observer_.calls(), 0u);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "invalid_argument"}}),
            6);
}

TEST_F(ServiceTest, LookupDeadlineIsTheSoonerOfCallerDeadlineAndLookupTimeout) {
  observer_.SetResult(SecureTxtObservation());
  PerspectiveService::Options options = BaseOptions();
  options.lookup_timeout = absl::Seconds(3);
  options.deadline_margin = absl::Milliseconds(200);
  StartServer(options);
  auto stub = Stub(pki_->client(tests::kVaClientName));
  struct Case {
    std::string name;
    absl::Duration rpc_timeout;
    absl::Duration expected;  // from the call's start
  };
  const Case cases[] = {
      {"caller_sooner", absl::Seconds(1), absl::Seconds(1) - absl::Milliseconds(200)},
      {"lookup_timeout_sooner", absl::Seconds(30), absl::Seconds(3)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Time before = absl::Now();
    v1::Observation response;
    ASSERT_TRUE(Call(stub.get(), Request("example.test"), &response, c.rpc_timeout).ok());
    const absl::Time after = absl::Now();
    EXPECT_GE(observer_.last_deadline(), before + c.expected - absl::Milliseconds(50));
    EXPECT_LE(observer_.last_deadline(), after + c.expected);
  }
}

TEST_F(ServiceTest, ObserverErrorsBecomeRpcErrors) {
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  for (const ObserverErrorCase& c : ObserverErrorCases()) {
    SCOPED_TRACE(c.name);
    observer_.SetResult(c.error);
    v1::Observation response;
    const grpc::Status status = Call(stub.get(), Request("example.test"), &response);
    EXPECT_EQ(status.error_code(), c.code);
    EXPECT_EQ(status.error_message(), c.error.message());
    EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                          {{"reason", c.reason}}),
              1);
  }
}

TEST_F(ServiceTest, ConcurrencyLimitAnswersResourceExhausted) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  PerspectiveService::Options options = BaseOptions();
  options.max_in_flight = 2;
  StartServer(options);
  auto stub = Stub(pki_->client(tests::kVaClientName));

  struct Pending {
    grpc::ClientContext ctx;
    v1::Observation response;
    grpc::Status status;
    absl::Notification done;
  };
  Pending calls[2];
  const v1::ObserveRequest request = Request("example.test");
  for (Pending& p : calls) {
    p.ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    stub->async()->Observe(&p.ctx, &request, &p.response, [&p](grpc::Status s) {
      p.status = std::move(s);
      p.done.Notify();
    });
  }
  ASSERT_TRUE(observer_.WaitForHeld(2));
  EXPECT_EQ(service_->InFlight(), 2);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_in_flight", {}), 2);

  v1::Observation response;
  const grpc::Status third = Call(stub.get(), request, &response);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(third.error_message(), HasSubstr("its limit"));

  observer_.Release();
  for (Pending& p : calls) {
    ASSERT_TRUE(p.done.WaitForNotificationWithTimeout(absl::Seconds(10)));
    EXPECT_TRUE(p.status.ok()) << p.status.error_message();
  }
  EXPECT_TRUE(service_->WaitUntilIdle(absl::Now() + absl::Seconds(5)));
}

TEST_F(ServiceTest, DrainingRefusesNewCallsAndLetsRunningOnesFinish) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  const v1::ObserveRequest request = Request("example.test");
  v1::Observation running_response;
  grpc::Status running_status;
  absl::Notification running_done;
  stub->async()->Observe(&ctx, &request, &running_response, [&](grpc::Status s) {
    running_status = std::move(s);
    running_done.Notify();
  });
  ASSERT_TRUE(observer_.WaitForHeld(1));

  service_->StartDraining();
  v1::Observation response;
  const grpc::Status refused = Call(stub.get(), request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(), "perspective is shutting down");
  EXPECT_FALSE(service_->WaitUntilIdle(absl::Now() + absl::Milliseconds(20)));

  observer_.Release();
  EXPECT_TRUE(service_->WaitUntilIdle(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(running_done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(running_status.ok()) << running_status.error_message();
  EXPECT_EQ(running_response.perspective_id(), "ripe-1");
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "shutting_down"}}),
            1);
}

TEST_F(ServiceTest, ExpiredCallerDeadlineIsRefusedWithoutALookup) {
  observer_.SetResult(SecureTxtObservation());
  absl::StatusOr<std::unique_ptr<PerspectiveService>> service =
      PerspectiveService::Create(BaseOptions(), &observer_, &registry_);
  ASSERT_TRUE(service.ok());
  absl::StatusOr<v1::Observation> got;
  (*service)->Handle(Request("example.test"), nullptr, absl::Now() - absl::Seconds(1), "test",
                     [&](absl::StatusOr<v1::Observation> r) { got = std::move(r); });
  // No peer identity at all: refused before the deadline is even looked at.
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);

  PerspectiveService::Options options = BaseOptions();
  options.tls.set_insecure_plaintext(true);
  prometheus::Registry registry;
  service = PerspectiveService::Create(options, &observer_, &registry);
  ASSERT_TRUE(service.ok());
  (*service)->Handle(Request("example.test"), nullptr, absl::Now() - absl::Seconds(1), "test",
                     [&](absl::StatusOr<v1::Observation> r) { got = std::move(r); });
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(observer_.calls(), 0u);
}

// ---- ObserveStream ----

// SlowObserver answers at once, except for "slow.example.test", which it
// holds until ReleaseSlow() (so answers can overtake each other).
class SlowObserver : public Observer {
 public:
  void Observe(const v1::ObserveRequest& request, absl::Time, Done done) override {
    {
      absl::MutexLock lock(&mu_);
      if (request.fqdn() == "slow.example.test") {
        held_.push_back({request, std::move(done)});
        return;
      }
    }
    std::move(done)(Echo(request));
  }
  bool WaitForHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() { return held_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  // ReleaseSlow answers every held request from another thread, inside one
  // common::FlushScope when `one_scope` (as the resolver thread does).
  void ReleaseSlow(bool one_scope = false) {
    std::vector<std::pair<v1::ObserveRequest, Done>> held;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
    }
    std::thread([&held, one_scope]() {
      std::optional<common::FlushScope> scope;
      if (one_scope) scope.emplace();
      for (auto& [request, done] : held) std::move(done)(Echo(request));
    }).join();
  }
  static v1::Observation Echo(const v1::ObserveRequest& request) {
    v1::Observation o = SecureTxtObservation();
    o.mutable_txt()->mutable_lookup()->set_qname(
        absl::StrCat("_validation-persist.", request.fqdn()));
    return o;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::pair<v1::ObserveRequest, Done>> held_;
};

using StreamRw = grpc::ClientReaderWriter<v1::ObserveStreamRequests, v1::ObserveStreamResponses>;

// TestStream: the test's end of one ObserveStream (synchronous API; every
// wait is bounded by the call's 30 s deadline). Send writes one request per
// message, SendBatch many; Next returns the answers one by one, whatever
// message carried them.
struct TestStream {
  explicit TestStream(v1::Perspective::Stub* stub) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    rw = stub->ObserveStream(&context);
  }
  bool Send(const v1::ObserveStreamRequest& request) { return SendBatch({request}); }
  bool SendBatch(const std::vector<v1::ObserveStreamRequest>& requests) {
    v1::ObserveStreamRequests message;
    for (const v1::ObserveStreamRequest& r : requests) *message.add_requests() = r;
    return rw->Write(message);
  }
  // Next answer; nullopt when the stream ended.
  std::optional<v1::ObserveStreamResponse> Next() {
    while (buffered.empty()) {
      v1::ObserveStreamResponses message;
      if (!rw->Read(&message)) return std::nullopt;
      ++messages;
      for (v1::ObserveStreamResponse& r : *message.mutable_responses()) {
        buffered.push_back(std::move(r));
      }
    }
    v1::ObserveStreamResponse next = std::move(buffered.front());
    buffered.pop_front();
    return next;
  }
  grpc::Status End() {
    rw->WritesDone();
    extra_answers += static_cast<int>(buffered.size());
    buffered.clear();
    v1::ObserveStreamResponses extra;
    while (rw->Read(&extra)) extra_answers += extra.responses_size();
    return rw->Finish();
  }
  grpc::ClientContext context;
  std::unique_ptr<StreamRw> rw;
  std::deque<v1::ObserveStreamResponse> buffered;
  int messages = 0;  // messages read so far
  int extra_answers = 0;
};

v1::ObserveStreamRequest StreamRequest(uint64_t id, const std::string& fqdn,
                                       absl::Duration timeout = absl::Seconds(10)) {
  v1::ObserveStreamRequest r;
  r.set_id(id);
  *r.mutable_request() = Request(fqdn, absl::StrCat("req-", id));
  const int64_t ns = absl::ToInt64Nanoseconds(timeout);
  r.mutable_timeout()->set_seconds(ns / 1000000000);
  r.mutable_timeout()->set_nanos(static_cast<int32_t>(ns % 1000000000));
  return r;
}

// Polls `condition` until it holds; false after `timeout`.
template <typename F>
bool Eventually(F condition, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

TEST_F(ServiceTest, StreamAnswersEveryRequestStampedWithOurIdentity) {
  observer_.SetResponder([](const v1::ObserveRequest& r) { return SlowObserver::Echo(r); });
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(stream.Send(StreamRequest(id, absl::StrCat("n", id, ".example.test"))));
  }
  for (uint64_t id = 1; id <= 3; ++id) {
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    // The fake answers inline, so answers come in order here.
    EXPECT_EQ(r->id(), id);
    ASSERT_TRUE(r->has_observation()) << r->DebugString();
    EXPECT_EQ(r->observation().perspective_id(), "ripe-1");
    EXPECT_EQ(r->observation().rir(), v1::RIR_RIPE);
    EXPECT_EQ(r->observation().region(), "eu-west-1");
    EXPECT_EQ(r->observation().request_id(), absl::StrCat("req-", id));
    EXPECT_EQ(r->observation().txt().lookup().qname(),
              absl::StrCat("_validation-persist.n", id, ".example.test"));
  }
  EXPECT_EQ(service_->OpenStreams(), 1);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_streams", {}), 1);
  const grpc::Status end = stream.End();
  EXPECT_TRUE(end.ok()) << end.error_message();
  // The per-observation metrics are the unary call's.
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_lookups_total",
                        {{"kind", "txt_persist"}, {"rcode", "NOERROR"}, {"dnssec", "secure"}}),
            3);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_duration_seconds", {}), 3);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_in_flight", {}), 0);
  EXPECT_TRUE(Eventually([this] { return service_->OpenStreams() == 0; }));
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_observe_streams", {}), 0);
}

TEST_F(ServiceTest, StreamRefusesClientsNotAllowedOnceAtTheStart) {
  observer_.SetResult(SecureTxtObservation());
  StartServer(BaseOptions());
  for (const RefusedClient& c : RefusedClients()) {
    SCOPED_TRACE(c.name);
    auto stub = Stub(c.client);
    TestStream stream(stub.get());
    stream.Send(StreamRequest(1, "example.test"));
    stream.Send(StreamRequest(2, "example.test"));
    EXPECT_FALSE(stream.Next().has_value());
    const grpc::Status status = stream.rw->Finish();
    EXPECT_EQ(status.error_code(), c.code) << status.error_message();
    if (!c.message.empty()) {
      EXPECT_EQ(status.error_message(), c.message);
    }
  }
  EXPECT_EQ(observer_.calls(), 0u);
  // Once per stream, not per request.
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "permission_denied"}}),
            2);
}

TEST_F(ServiceTest, StreamAnswersComeOutOfOrder) {
  SlowObserver slow;
  StartServer(BaseOptions(), &slow);

  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  ASSERT_TRUE(stream.Send(StreamRequest(1, "slow.example.test")));
  ASSERT_TRUE(slow.WaitForHeld(1));
  ASSERT_TRUE(stream.Send(StreamRequest(2, "fast.example.test")));
  std::optional<v1::ObserveStreamResponse> first = stream.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id(), 2u);
  EXPECT_EQ(first->observation().txt().lookup().qname(), "_validation-persist.fast.example.test");
  slow.ReleaseSlow();
  std::optional<v1::ObserveStreamResponse> second = stream.Next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id(), 1u);
  EXPECT_EQ(second->observation().txt().lookup().qname(), "_validation-persist.slow.example.test");
  EXPECT_EQ(second->observation().request_id(), "req-1");
  EXPECT_TRUE(stream.End().ok());
  server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  server_.reset();
}

TEST_F(ServiceTest, StreamBadRequestsGetAnErrorNamingTheFieldAndTheStreamGoesOn) {
  observer_.SetResponder([](const v1::ObserveRequest& r) { return SlowObserver::Echo(r); });
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  struct Case {
    std::string name;
    v1::ObserveStreamRequest request;
    std::string message;
  };
  v1::ObserveStreamRequest no_id = StreamRequest(0, "example.test");
  v1::ObserveStreamRequest no_request = StreamRequest(11, "example.test");
  no_request.clear_request();
  v1::ObserveStreamRequest no_timeout = StreamRequest(12, "example.test");
  no_timeout.clear_timeout();
  v1::ObserveStreamRequest zero = StreamRequest(13, "example.test", absl::ZeroDuration());
  zero.mutable_timeout();  // present, but 0
  v1::ObserveStreamRequest negative = StreamRequest(14, "example.test", absl::Seconds(-1));
  v1::ObserveStreamRequest too_long = StreamRequest(15, "example.test", absl::Seconds(301));
  v1::ObserveStreamRequest bad_duration = StreamRequest(16, "example.test");
  bad_duration.mutable_timeout()->set_seconds(1);
  bad_duration.mutable_timeout()->set_nanos(-5);
  v1::ObserveStreamRequest huge_nanos = StreamRequest(17, "example.test");
  huge_nanos.mutable_timeout()->set_nanos(1000000000);
  v1::ObserveStreamRequest bad_fqdn = StreamRequest(18, "*.example.test");
  v1::ObserveStreamRequest bad_kind = StreamRequest(19, "example.test");
  bad_kind.mutable_request()->add_kinds(v1::LOOKUP_KIND_UNSPECIFIED);
  const Case cases[] = {
      {"id_zero", no_id, "id: required (non-zero"},
      {"no_request", no_request, "request: required"},
      {"no_timeout", no_timeout, "timeout: required"},
      {"zero_timeout", zero, "timeout: must be positive, got 0"},
      {"negative_timeout", negative, "timeout: must be positive, got -1s"},
      {"timeout_too_long", too_long, "timeout: at most 5m, got 5m1s"},
      {"invalid_duration", bad_duration, "timeout: not a valid Duration (seconds 1, nanos -5)"},
      {"nanos_out_of_range", huge_nanos, "timeout: not a valid Duration"},
      {"bad_fqdn", bad_fqdn, "fqdn: "},
      {"bad_kind", bad_kind, "kinds[0]: 0 is not LOOKUP_KIND_TXT_PERSIST"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(stream.Send(c.request));
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->id(), c.request.id());
    ASSERT_TRUE(r->has_error()) << r->DebugString();
    EXPECT_EQ(r->error().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_THAT(r->error().message(), HasSubstr(c.message));
  }
  EXPECT_EQ(observer_.calls(), 0u);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "invalid_argument"}}),
            10);

  // An id still pending is refused; the first request keeps it.
  observer_.Hold();
  ASSERT_TRUE(stream.Send(StreamRequest(7, "first.example.test")));
  ASSERT_TRUE(observer_.WaitForHeld(1));
  ASSERT_TRUE(stream.Send(StreamRequest(7, "second.example.test")));
  std::optional<v1::ObserveStreamResponse> reused = stream.Next();
  ASSERT_TRUE(reused.has_value());
  EXPECT_EQ(reused->id(), 7u);
  ASSERT_TRUE(reused->has_error());
  EXPECT_EQ(reused->error().code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(reused->error().message(), HasSubstr("id: 7 is already pending on this stream"));
  observer_.Release();
  std::optional<v1::ObserveStreamResponse> first = stream.Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id(), 7u);
  EXPECT_EQ(first->observation().txt().lookup().qname(), "_validation-persist.first.example.test");
  // Answered: the id is free again, and the stream still works.
  ASSERT_TRUE(stream.Send(StreamRequest(7, "again.example.test")));
  std::optional<v1::ObserveStreamResponse> again = stream.Next();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->observation().txt().lookup().qname(), "_validation-persist.again.example.test");
  EXPECT_EQ(observer_.calls(), 2u);
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamBatchesAreAnsweredInFullAndReadyAnswersShareMessages) {
  SlowObserver slow;
  StartServer(BaseOptions(), &slow);
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  // One message with 50 requests, all held by the observer, plus a second
  // use of id 7 inside the same message (refused: ids are unique among the
  // unanswered requests, within a message too).
  constexpr int kRequests = 50;
  std::vector<v1::ObserveStreamRequest> batch;
  for (uint64_t id = 1; id <= kRequests; ++id) {
    batch.push_back(StreamRequest(id, "slow.example.test"));
  }
  batch.push_back(StreamRequest(7, "fast.example.test"));
  ASSERT_TRUE(stream.SendBatch(batch));
  std::optional<v1::ObserveStreamResponse> refused = stream.Next();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->id(), 7u);
  ASSERT_TRUE(refused->has_error()) << refused->DebugString();
  EXPECT_THAT(refused->error().message(), HasSubstr("id: 7 is already pending on this stream"));
  ASSERT_TRUE(slow.WaitForHeld(kRequests));
  // Answered within one FlushScope (one resolver-loop iteration): all 50
  // leave in one message.
  const int messages_before = stream.messages;
  slow.ReleaseSlow(/*one_scope=*/true);
  std::set<uint64_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    ASSERT_TRUE(r->has_observation()) << r->DebugString();
    EXPECT_EQ(r->observation().request_id(), absl::StrCat("req-", r->id()));
    ids.insert(r->id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(*ids.begin(), 1u);
  EXPECT_EQ(*ids.rbegin(), static_cast<uint64_t>(kRequests));
  EXPECT_EQ(stream.messages - messages_before, 1);
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamMessageWithoutRequestsOrWithTooManyFinishesInvalidArgument) {
  observer_.SetResult(SecureTxtObservation());
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  {
    SCOPED_TRACE("empty message after a request still running");
    TestStream stream(stub.get());
    observer_.Hold();
    ASSERT_TRUE(stream.Send(StreamRequest(1, "held.example.test")));
    ASSERT_TRUE(observer_.WaitForHeld(1));
    ASSERT_TRUE(stream.SendBatch({}));
    observer_.Release();
    // What was read before the bad message is answered...
    std::optional<v1::ObserveStreamResponse> held = stream.Next();
    ASSERT_TRUE(held.has_value());
    EXPECT_EQ(held->id(), 1u);
    EXPECT_TRUE(held->has_observation()) << held->DebugString();
    // ...then the stream ends, naming the field and the rule.
    EXPECT_FALSE(stream.Next().has_value());
    const grpc::Status status = stream.rw->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(),
                HasSubstr("requests: 0 in one message; each ObserveStreamRequests message must "
                          "carry at least 1 and at most 256"));
  }
  {
    SCOPED_TRACE("257 requests in one message");
    TestStream stream(stub.get());
    std::vector<v1::ObserveStreamRequest> batch;
    for (uint64_t id = 1; id <= kMaxStreamBatch + 1; ++id) {
      batch.push_back(StreamRequest(id, "example.test"));
    }
    ASSERT_TRUE(stream.SendBatch(batch));
    EXPECT_FALSE(stream.Next().has_value());
    const grpc::Status status = stream.rw->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("requests: 257 in one message"));
  }
  // Nothing of a bad message is looked up.
  EXPECT_EQ(observer_.calls(), 1u);
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "invalid_argument"}}),
            2);
}

TEST_F(ServiceTest, StreamObserverErrorsBecomeErrorAnswers) {
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  uint64_t id = 0;
  for (const ObserverErrorCase& c : ObserverErrorCases()) {
    SCOPED_TRACE(c.name);
    observer_.SetResult(c.error);
    ASSERT_TRUE(stream.Send(StreamRequest(++id, "example.test")));
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->id(), id);
    ASSERT_TRUE(r->has_error());
    EXPECT_EQ(r->error().code(), static_cast<int>(c.code));
    EXPECT_EQ(r->error().message(), c.error.message());
    EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                          {{"reason", c.reason}}),
              1);
  }
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamLookupDeadlineIsTheSoonerOfTimeoutAndLookupTimeout) {
  observer_.SetResult(SecureTxtObservation());
  PerspectiveService::Options options = BaseOptions();
  options.lookup_timeout = absl::Seconds(3);
  options.deadline_margin = absl::Milliseconds(200);
  StartServer(options);
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  struct Case {
    std::string name;
    absl::Duration timeout;
    absl::Duration expected;  // from the request's arrival
  };
  const Case cases[] = {
      {"caller_sooner", absl::Seconds(1), absl::Seconds(1) - absl::Milliseconds(200)},
      {"lookup_timeout_sooner", absl::Seconds(30), absl::Seconds(3)},
  };
  uint64_t id = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const absl::Time before = absl::Now();
    ASSERT_TRUE(stream.Send(StreamRequest(++id, "example.test", c.timeout)));
    ASSERT_TRUE(stream.Next().has_value());
    const absl::Time after = absl::Now();
    EXPECT_GE(observer_.last_deadline(), before + c.expected);
    EXPECT_LE(observer_.last_deadline(), after + c.expected);
  }
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamRequestsCountTowardTheConcurrencyLimit) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  PerspectiveService::Options options = BaseOptions();
  options.max_in_flight = 2;
  StartServer(options);
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  ASSERT_TRUE(stream.Send(StreamRequest(1, "example.test")));
  ASSERT_TRUE(stream.Send(StreamRequest(2, "example.test")));
  ASSERT_TRUE(observer_.WaitForHeld(2));
  ASSERT_TRUE(stream.Send(StreamRequest(3, "example.test")));
  std::optional<v1::ObserveStreamResponse> third = stream.Next();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->id(), 3u);
  EXPECT_EQ(third->error().code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_THAT(third->error().message(), HasSubstr("its limit"));
  observer_.Release();
  for (int i = 0; i < 2; ++i) {
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_observation());
  }
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamStopsReadingAtItsPendingLimit) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  PerspectiveService::Options options = BaseOptions();
  options.stream_max_pending = 2;
  StartServer(options);
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  for (uint64_t id = 1; id <= 5; ++id) {
    ASSERT_TRUE(stream.Send(StreamRequest(id, "example.test")));
  }
  ASSERT_TRUE(observer_.WaitForHeld(2));
  // Nothing more is read while two are unanswered.
  EXPECT_FALSE(Eventually([this] { return observer_.calls() > 2; }, absl::Milliseconds(300)));
  observer_.Release();
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    std::optional<v1::ObserveStreamResponse> r = stream.Next();
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->has_observation()) << r->DebugString();
    ids.push_back(r->id());
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(observer_.calls(), 5u);
  EXPECT_TRUE(stream.End().ok());
}

TEST_F(ServiceTest, StreamDrainingAnswersWhatItReadThenFinishesUnavailable) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  ASSERT_TRUE(stream.Send(StreamRequest(1, "example.test")));
  ASSERT_TRUE(observer_.WaitForHeld(1));

  service_->StartDraining();
  // A request read while draining is refused; the running one goes on.
  ASSERT_TRUE(stream.Send(StreamRequest(2, "example.test")));
  std::optional<v1::ObserveStreamResponse> refused = stream.Next();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->id(), 2u);
  EXPECT_EQ(refused->error().code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(refused->error().message(), "perspective is shutting down");
  // A new stream is finished at once.
  {
    TestStream late(stub.get());
    late.Send(StreamRequest(1, "example.test"));
    EXPECT_FALSE(late.Next().has_value());
    const grpc::Status status = late.rw->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_EQ(status.error_message(), "perspective is shutting down");
  }
  EXPECT_EQ(service_->OpenStreams(), 1);

  observer_.Release();
  std::optional<v1::ObserveStreamResponse> running = stream.Next();
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->id(), 1u);
  EXPECT_EQ(running->observation().perspective_id(), "ripe-1");
  // Everything read is answered: the stream ends without a half-close.
  EXPECT_FALSE(stream.Next().has_value());
  const grpc::Status status = stream.rw->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "perspective is shutting down");
  EXPECT_TRUE(service_->WaitUntilIdle(absl::Now() + absl::Seconds(10)));
  EXPECT_TRUE(Eventually([this] { return service_->OpenStreams() == 0; }));
  EXPECT_EQ(MetricValue(registry_, "vantage_perspective_rpcs_refused_total",
                        {{"reason", "shutting_down"}}),
            2);
}

TEST_F(ServiceTest, StreamHalfClosedByTheClientFinishesOkAfterTheLastAnswer) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  TestStream stream(stub.get());
  ASSERT_TRUE(stream.Send(StreamRequest(1, "example.test")));
  ASSERT_TRUE(observer_.WaitForHeld(1));
  ASSERT_TRUE(stream.rw->WritesDone());
  observer_.Release();
  std::optional<v1::ObserveStreamResponse> r = stream.Next();
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->has_observation());
  EXPECT_FALSE(stream.Next().has_value());
  const grpc::Status status = stream.rw->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ServiceTest, StreamCancelledByTheClientFinishesWithoutWaitingForDns) {
  observer_.SetResult(SecureTxtObservation());
  observer_.Hold();
  StartServer(BaseOptions());
  auto stub = Stub(pki_->client(tests::kVaClientName));
  {
    TestStream stream(stub.get());
    ASSERT_TRUE(stream.Send(StreamRequest(1, "example.test")));
    ASSERT_TRUE(stream.Send(StreamRequest(2, "example.test")));
    ASSERT_TRUE(observer_.WaitForHeld(2));
    EXPECT_EQ(service_->OpenStreams(), 1);
    stream.context.TryCancel();
    EXPECT_FALSE(stream.Next().has_value());
    EXPECT_EQ(stream.rw->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(Eventually([this] { return service_->OpenStreams() == 0; }));
  EXPECT_EQ(service_->InFlight(), 2);
  // The lookups finish later; their answers have nowhere to go.
  observer_.Release();
  EXPECT_TRUE(service_->WaitUntilIdle(absl::Now() + absl::Seconds(10)));
}

TEST(ServiceCreateTest, RefusesBadOptions) {
  FakeObserver observer;
  prometheus::Registry registry;
  PerspectiveService::Options good;
  good.id = "p";
  EXPECT_TRUE(PerspectiveService::Create(good, &observer, &registry).ok());
  prometheus::Registry r2, r3, r4;
  EXPECT_FALSE(PerspectiveService::Create(good, nullptr, &r2).ok());
  EXPECT_FALSE(PerspectiveService::Create(good, &observer, nullptr).ok());
  PerspectiveService::Options no_id = good;
  no_id.id.clear();
  EXPECT_FALSE(PerspectiveService::Create(no_id, &observer, &r3).ok());
  PerspectiveService::Options bad_timeout = good;
  bad_timeout.lookup_timeout = absl::ZeroDuration();
  EXPECT_FALSE(PerspectiveService::Create(bad_timeout, &observer, &r4).ok());
  prometheus::Registry r5;
  PerspectiveService::Options no_stream_pending = good;
  no_stream_pending.stream_max_pending = 0;
  EXPECT_FALSE(PerspectiveService::Create(no_stream_pending, &observer, &r5).ok());
}

}  // namespace
}  // namespace vantage::perspective
