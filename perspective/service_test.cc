#include "perspective/service.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
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
  void StartServer(PerspectiveService::Options options) {
    absl::StatusOr<std::unique_ptr<PerspectiveService>> service =
        PerspectiveService::Create(std::move(options), &observer_, &registry_);
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
  struct Case {
    std::string name;
    tests::CertFiles client;
    grpc::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"intruder", pki_->intruder(), grpc::StatusCode::PERMISSION_DENIED,
       "client intruder.vantage.test is not in tls.allowed_client_names"},
      {"ra", pki_->client(tests::kRaClientName), grpc::StatusCode::PERMISSION_DENIED,
       "client ra.vantage.test is not in tls.allowed_client_names"},
      {"no_certificate", {}, grpc::StatusCode::UNAVAILABLE, ""},
      {"rogue_ca", pki_->rogue(), grpc::StatusCode::UNAVAILABLE, ""},
  };
  for (const Case& c : cases) {
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
  struct Case {
    std::string name;
    absl::Status error;
    grpc::StatusCode code;
    std::string reason;
  };
  const Case cases[] = {
      {"exhausted", absl::ResourceExhaustedError("too many lookups"),
       grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted"},
      {"deadline", absl::DeadlineExceededError("late"), grpc::StatusCode::DEADLINE_EXCEEDED,
       "deadline_exceeded"},
      {"unavailable", absl::UnavailableError("resolver shutting down"),
       grpc::StatusCode::UNAVAILABLE, "observer_error"},
  };
  for (const Case& c : cases) {
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
}

}  // namespace
}  // namespace vantage::perspective
