// perspective_bench: Observe calls/s and latency of a real vantage-perspective
// process over gRPC mTLS, next to the floors measured in the SAME run:
//  (a) a bare unary gRPC echo over the same mTLS setup (a separate echo
//      server process, callback API on both sides);
//  (b) raw libunbound lookups with the API the observer uses
//      (ub_resolve_event in a libevent loop), configured like the observer;
//  (c) Observe(TXT_PERSIST) through perspective::RemoteObserver (the VA's
//      client: one long-lived mTLS channel, callback API) to a real
//      `vantage-perspective` process.
// Each at concurrency 1/16/64 (closed loop: C calls in flight, each answer
// immediately replaced by a new call), in two workloads:
//  - warm: the same signed name every time (a cache hit in the resolver);
//  - leaf: a fresh signed name per lookup (_validation-persist.t<N>.leaf.test,
//    pre-populated in the fixture): a real cache miss with the zone keys
//    cached - the realistic case of a VA looking at many domains.
// Everything runs against the real DNS fixture (knotd, signed zones) inside
// a private network namespace (needs root).
//
//   bazel run --config=opt //tests/perspective:perspective_bench --
//       [--seconds=3] [--warmup=0.5] [--concurrency=1,16,64] [--leaf_names=60000]
// (one command line)
//
// The floor for Observe at concurrency C: one Observe costs one gRPC call and
// one lookup, and on this 2-core machine the client, the perspective and
// knotd share the same CPUs, so their costs add up per operation:
//   floor(C) = 1 / (1/echo(C) + 1/lookup(C))
// (both are closed-loop rates at the same C; when latency-bound, 1/rate is
// the per-call latency and the formula adds the latencies; when CPU-bound it
// adds the CPU time per operation). Target: observe(C) >= 0.8 * floor(C).
#include <dirent.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "perspective/remote_observer.h"
#include "tests/dns/fixture.h"
#include "tests/harness/netns.h"
#include "tests/harness/subprocess.h"
#include "tests/perspective/bench_echo.grpc.pb.h"
#include "tests/perspective/perspective_process.h"
#include "tests/pki/test_pki.h"

ABSL_FLAG(double, seconds, 3.0, "Measured seconds per run.");
ABSL_FLAG(double, warmup, 0.5, "Warm-up seconds before each measured run (not counted).");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "16", "64"}),
          "Calls in flight, comma-separated.");
ABSL_FLAG(int, repeats, 3, "Runs of every measurement; the table shows medians.");
ABSL_FLAG(int, leaf_names, 60000, "Pre-populated leaf names (each used once per resolver).");
ABSL_FLAG(std::vector<std::string>, workloads,
          std::vector<std::string>({"echo", "lookup_warm", "lookup_leaf", "observe_warm",
                                    "observe_leaf"}),
          "Which measurements to run (the floor table needs all five).");
ABSL_FLAG(int, payload, 200, "Echo payload bytes (an Observation is a few hundred bytes).");
ABSL_FLAG(std::string, serve_echo, "", "Internal: run as the echo server on this address.");
ABSL_FLAG(std::string, pki_dir, "", "Internal: the test PKI of the echo server.");

namespace vantage::bench {
namespace {

double CpuSelf() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

// CpuOf: user+system CPU seconds of another process (0 if unknown).
double CpuOf(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  const size_t close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(s.substr(close + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) absl::SimpleAtoi(f, &utime);
    if (i == 15) absl::SimpleAtoi(f, &stime);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// ContextSwitches: voluntary + involuntary context switches of every thread
// of a process (0 = this process).
long ContextSwitches(pid_t pid) {
  const std::string dir = pid > 0 ? absl::StrCat("/proc/", pid, "/task") : "/proc/self/task";
  long total = 0;
  std::unique_ptr<DIR, int (*)(DIR*)> tasks(opendir(dir.c_str()), &closedir);
  if (tasks == nullptr) return 0;
  while (dirent* e = readdir(tasks.get())) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(absl::StrCat(dir, "/", e->d_name, "/status"));
    std::string line;
    while (std::getline(in, line)) {
      long v = 0;
      const size_t colon = line.find(':');
      const bool counter = absl::StartsWith(line, "voluntary_ctxt_switches") ||
                           absl::StartsWith(line, "nonvoluntary_ctxt_switches");
      if (colon == std::string::npos || !counter) continue;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(colon + 1)), &v)) total += v;
    }
  }
  return total;
}

struct Stats {
  long n = 0;
  long errors = 0;
  double wall = 0;
  double cpu = 0;     // client + server process, seconds
  long switches = 0;  // context switches of client + server process
  bool exhausted = false;
  std::vector<double> latencies;  // seconds
  double Rate() const { return wall > 0 ? n / wall : 0; }
  double Percentile(double p) const {
    if (latencies.empty()) return 0;
    std::vector<double> v = latencies;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(v.size() * p));
    std::nth_element(v.begin(), v.begin() + i, v.end());
    return v[i];
  }
};

// Leaf names handed out once each (per resolver cache).
class LeafNames {
 public:
  explicit LeafNames(int count) : count_(count) {}
  // Next returns the next never-used fqdn, or "" when they are used up.
  std::string Next() {
    const int i = next_.fetch_add(1, std::memory_order_relaxed);
    return i < count_ ? absl::StrCat("t", i, ".leaf.test") : "";
  }
  int used() const { return std::min(next_.load(), count_); }

 private:
  const int count_;
  std::atomic<int> next_{0};
};

// ---- Closed loop over asynchronous calls (gRPC callback API) ----

// An operation: start one call and call `done(ok)` once it completes
// (on any thread). Returns false when it cannot start (names used up).
using StartOp = std::function<bool(std::function<void(bool ok)> done)>;

class ClosedLoop {
 public:
  Stats Run(int concurrency, double warmup, double seconds, const StartOp& start,
            pid_t server_pid) {
    phase_ = 0;
    live_ = concurrency;
    exhausted_ = false;
    slots_.assign(concurrency, Slot());
    for (Slot& s : slots_) s.latencies.reserve(1 << 16);
    for (int i = 0; i < concurrency; ++i) Launch(i, start);
    absl::SleepFor(absl::Seconds(warmup));
    const double c0 = CpuSelf(), s0 = CpuOf(server_pid);
    const long x0 = ContextSwitches(0) + ContextSwitches(server_pid);
    const absl::Time t0 = absl::Now();
    phase_ = 1;
    absl::SleepFor(absl::Seconds(seconds));
    phase_ = 2;
    const absl::Time t1 = absl::Now();
    const double c1 = CpuSelf(), s1 = CpuOf(server_pid);
    const long x1 = ContextSwitches(0) + ContextSwitches(server_pid);
    while (live_.load() > 0) absl::SleepFor(absl::Milliseconds(1));  // draining the chains
    Stats stats;
    stats.wall = absl::ToDoubleSeconds(t1 - t0);
    stats.cpu = (c1 - c0) + (s1 - s0);
    stats.switches = x1 - x0;
    stats.exhausted = exhausted_.load();
    for (Slot& s : slots_) {
      stats.n += static_cast<long>(s.latencies.size());
      stats.errors += s.errors;
      stats.latencies.insert(stats.latencies.end(), s.latencies.begin(), s.latencies.end());
    }
    return stats;
  }

 private:
  struct Slot {
    std::vector<double> latencies;
    long errors = 0;
  };

  void Launch(int slot, const StartOp& start) {
    const absl::Time t0 = absl::Now();
    const bool started = start([this, slot, t0, &start](bool ok) {
      Slot& s = slots_[slot];
      if (phase_.load(std::memory_order_relaxed) == 1) {
        s.latencies.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
        if (!ok) ++s.errors;
      }
      if (phase_.load(std::memory_order_relaxed) < 2) {
        Launch(slot, start);
      } else {
        live_.fetch_sub(1);
      }
    });
    if (!started) {
      exhausted_ = true;
      live_.fetch_sub(1);
    }
  }

  std::atomic<int> phase_{0};
  std::atomic<int> live_{0};
  std::atomic<bool> exhausted_{false};
  std::vector<Slot> slots_;
};

// ---- (a) echo ----

class EchoService final : public vantage::bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const EchoMessage* request, EchoMessage* response) override {
    response->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

int ServeEcho(const std::string& address, const std::string& pki_dir) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  v1::TlsServerConfig tls;
  tls.set_cert_file(absl::StrCat(pki_dir, "/server-", tests::kPerspectiveServerName, ".pem"));
  tls.set_key_file(absl::StrCat(pki_dir, "/server-", tests::kPerspectiveServerName, ".key"));
  tls.set_client_ca_file(absl::StrCat(pki_dir, "/ca.pem"));
  tls.add_allowed_client_names(tests::kVaClientName);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      common::MakeServerCredentials(tls, address);
  if (!creds.ok()) {
    std::fprintf(stderr, "echo: %s\n", creds.status().ToString().c_str());
    return 1;
  }
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, *creds, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return 1;
  std::printf("echo listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server->Shutdown();
  return 0;
}

struct EchoCall {
  grpc::ClientContext context;
  EchoMessage request;
  EchoMessage response;
};

Stats RunEcho(vantage::bench::Echo::Stub* stub, const std::string& payload, int concurrency,
              double warmup, double seconds, pid_t server_pid) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [stub, &payload](std::function<void(bool)> done) {
        auto* call = new EchoCall;
        call->request.set_payload(payload);
        call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
        stub->async()->Echo(&call->context, &call->request, &call->response,
                            [call, done = std::move(done)](grpc::Status status) {
                              const bool ok = status.ok() && call->response.payload().size() ==
                                                                 call->request.payload().size();
                              delete call;
                              done(ok);
                            });
        return true;
      },
      server_pid);
}

// ---- (c) Observe over gRPC mTLS ----

Stats RunObserve(perspective::RemoteObserver* remote, LeafNames* leaf, int concurrency,
                 double warmup, double seconds, pid_t server_pid) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [remote, leaf](std::function<void(bool)> done) {
        v1::ObserveRequest request;
        request.set_fqdn(leaf != nullptr ? leaf->Next() : "example.test");
        if (request.fqdn().empty()) return false;
        request.set_request_id("bench");
        remote->Observe(request, absl::Now() + absl::Seconds(30),
                        [done = std::move(done)](absl::StatusOr<v1::Observation> o) {
                          done(o.ok() &&
                               o->txt().lookup().dnssec_state() == v1::DNSSEC_STATE_SECURE &&
                               o->txt().records_size() == 1);
                        });
        return true;
      },
      server_pid);
}

// ---- (b) raw libunbound, configured like the observer (event engine) ----

void CheckUb(int err, const char* what) {
  if (err != 0) {
    std::fprintf(stderr, "libunbound %s: %s\n", what, ub_strerror(err));
    std::exit(1);
  }
}

class RawLookups {
 public:
  explicit RawLookups(const v1::ResolverConfig& r) {
    base_ = event_base_new();
    ctx_ = ub_ctx_create_event(base_);
    if (base_ == nullptr || ctx_ == nullptr) {
      std::fprintf(stderr, "libunbound: cannot create the event context\n");
      std::exit(1);
    }
    CheckUb(ub_ctx_set_option(ctx_, "do-ip6:", "no"), "do-ip6");
    CheckUb(ub_ctx_set_option(ctx_, "infra-cache-max-rtt:",
                              absl::StrCat(r.infra_cache_max_rtt_ms()).c_str()),
            "infra-cache-max-rtt");
    CheckUb(ub_ctx_set_option(ctx_, "infra-host-ttl:", "10"), "infra-host-ttl");
    CheckUb(ub_ctx_set_option(ctx_, "do-not-query-localhost:", "no"), "localhost");
    CheckUb(ub_ctx_set_option(ctx_, "root-hints:", r.root_hints_file().c_str()), "root-hints");
    CheckUb(ub_ctx_add_ta_file(ctx_, r.trust_anchor_file().c_str()), "trust anchor");
    for (const std::string& zone : r.unblock_local_zones()) {
      CheckUb(ub_ctx_zone_remove(ctx_, zone.c_str()), "zone_remove");
    }
  }
  ~RawLookups() {
    ub_ctx_delete(ctx_);
    event_base_free(base_);
  }

  // Run keeps `concurrency` lookups outstanding on this thread's event loop.
  Stats Run(int concurrency, double warmup, double seconds, LeafNames* leaf) {
    Stats stats;
    stats_ = &stats;
    leaf_ = leaf;
    concurrency_ = concurrency;
    stop_ = false;
    measuring_ = false;
    const absl::Time warm_end = absl::Now() + absl::Seconds(warmup);
    const absl::Time end = warm_end + absl::Seconds(seconds);
    double c0 = 0;
    long x0 = 0;
    absl::Time t0;
    while (true) {
      const absl::Time now = absl::Now();
      if (!measuring_ && now >= warm_end) {
        measuring_ = true;
        t0 = now;
        c0 = CpuSelf();
        x0 = ContextSwitches(0);
      }
      if (now >= end) stop_ = true;
      if (!stop_) Refill();
      if (outstanding_ == 0 && stop_) break;
      if (outstanding_ > 0) event_base_loop(base_, EVLOOP_ONCE);
    }
    stats.wall = absl::ToDoubleSeconds(std::min(absl::Now(), end) - t0);
    stats.cpu = CpuSelf() - c0;
    stats.switches = ContextSwitches(0) - x0;
    stats_ = nullptr;
    return stats;
  }

 private:
  struct Query {
    RawLookups* self;
    absl::Time start;
    bool counted;
  };

  // Refill issues lookups until `concurrency_` are outstanding. Cache hits
  // are answered inside ub_resolve_event, so this is a loop (never a
  // recursion from the callback), bounded so that Run() looks at the clock.
  void Refill() {
    for (int i = 0; i < 1024 && !stop_ && outstanding_ < concurrency_; ++i) {
      const std::string fqdn = leaf_ != nullptr ? leaf_->Next() : "example.test";
      if (fqdn.empty()) {
        stats_->exhausted = true;
        stop_ = true;
        return;
      }
      const std::string qname = "_validation-persist." + fqdn;
      auto* q = new Query{this, absl::Now(), measuring_};
      ++outstanding_;
      CheckUb(ub_resolve_event(ctx_, qname.c_str(), 16, 1, q, &OnAnswer, nullptr), "resolve");
    }
  }

  static void OnAnswer(void* mydata, int rcode, void*, int length, int sec, char*, int) {
    auto* q = static_cast<Query*>(mydata);
    RawLookups* self = q->self;
    if (q->counted && self->measuring_ && !self->stop_) {
      self->stats_->latencies.push_back(absl::ToDoubleSeconds(absl::Now() - q->start));
      self->stats_->n++;
      if (!(rcode == 0 && sec == 2 && length > 0)) self->stats_->errors++;
    }
    --self->outstanding_;
    delete q;
  }

  event_base* base_ = nullptr;
  ub_ctx* ctx_ = nullptr;
  Stats* stats_ = nullptr;
  LeafNames* leaf_ = nullptr;
  int concurrency_ = 1;
  int outstanding_ = 0;
  bool stop_ = false;
  bool measuring_ = false;
};

// ---- the run ----

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

void Die(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "perspective_bench: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

void PrintRow(const std::string& workload, int c, const Stats& s) {
  const double n = s.n > 0 ? static_cast<double>(s.n) : 1.0;
  std::printf("%-22s %5d %10.0f %10.0f %10.0f %10.1f %8.2f %7ld%s\n", workload.c_str(), c,
              s.Rate(), s.Percentile(0.50) * 1e6, s.Percentile(0.99) * 1e6, s.cpu / n * 1e6,
              static_cast<double>(s.switches) / n, s.errors,
              s.exhausted ? "  (ran out of leaf names: raise --leaf_names)" : "");
  std::fflush(stdout);
}

// Median returns the run with the median rate.
const Stats& Median(const std::vector<Stats>& runs) {
  std::vector<const Stats*> sorted;
  for (const Stats& s : runs) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(),
            [](const Stats* a, const Stats* b) { return a->Rate() < b->Rate(); });
  return *sorted[sorted.size() / 2];
}

double Floor(double echo, double lookup) {
  return echo > 0 && lookup > 0 ? 1.0 / (1.0 / echo + 1.0 / lookup) : 0;
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As vantage-perspective does (see perspective/main.cc): no lock-order
  // recording in the echo server and the client either.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (!absl::GetFlag(FLAGS_serve_echo).empty()) {
    return ServeEcho(absl::GetFlag(FLAGS_serve_echo), absl::GetFlag(FLAGS_pki_dir));
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  std::vector<int> concurrency;
  for (const std::string& c : absl::GetFlag(FLAGS_concurrency)) {
    int v = 0;
    if (!absl::SimpleAtoi(c, &v) || v < 1) {
      std::fprintf(stderr, "perspective_bench: bad --concurrency value \"%s\"\n", c.c_str());
      return 2;
    }
    concurrency.push_back(v);
  }
  const int leaf_names = absl::GetFlag(FLAGS_leaf_names);

  if (absl::Status s = harness::EnterPrivateNetworkNamespace(); !s.ok()) {
    Die(s, "private network namespace (run as root)");
  }
  std::printf("perspective_bench: starting the DNS fixture (%d leaf names)...\n", leaf_names);
  std::fflush(stdout);
  dnstest::DnsFixture::Options dns_options;
  dns_options.leaf_names = leaf_names;
  dns_options.start_timeout = absl::Minutes(5);
  absl::StatusOr<std::unique_ptr<dnstest::DnsFixture>> dns = dnstest::DnsFixture::Start(dns_options);
  if (!dns.ok()) Die(dns.status(), "DNS fixture");
  tests::TestPkiOptions pki_options;
  pki_options.dir = harness::TestTempDir() + "/perspective-bench-pki";
  absl::StatusOr<tests::TestPki> pki = tests::TestPki::Create(pki_options);
  if (!pki.ok()) Die(pki.status(), "test PKI");
  const v1::TlsClientConfig client_tls =
      pki->ClientTls(pki->client(tests::kVaClientName), tests::kPerspectiveServerName);

  // (a) the echo server: this binary in --serve_echo mode, another process.
  harness::Subprocess::Options echo_options;
  echo_options.argv = {SelfPath(), "--serve_echo=127.0.0.1:0", "--pki_dir=" + pki->dir()};
  absl::StatusOr<std::unique_ptr<harness::Subprocess>> echo_server =
      harness::Subprocess::Start(echo_options);
  if (!echo_server.ok()) Die(echo_server.status(), "echo server");
  absl::StatusOr<std::string> echo_line =
      (*echo_server)->WaitForOutput("echo listening on ", absl::Seconds(10));
  if (!echo_line.ok()) Die(echo_line.status(), "echo server");
  const std::string echo_address = echo_line->substr(echo_line->find("127.0.0.1:"));

  // (c) the perspective process.
  tests::PerspectiveProcess::Options perspective_options;
  v1::PerspectiveConfig& config = perspective_options.config;
  config.set_id("bench-1");
  config.set_rir(v1::RIR_ARIN);
  config.set_listen_address("127.0.0.1:0");
  *config.mutable_resolver() = (*dns)->resolver_config();
  *config.mutable_tls() = pki->ServerTls(tests::kPerspectiveServerName, {tests::kVaClientName});
  absl::StatusOr<std::unique_ptr<tests::PerspectiveProcess>> perspective =
      tests::PerspectiveProcess::Start(perspective_options);
  if (!perspective.ok()) Die(perspective.status(), "vantage-perspective");

  absl::StatusOr<std::shared_ptr<grpc::Channel>> echo_channel =
      common::CreateChannel(echo_address, client_tls);
  if (!echo_channel.ok()) Die(echo_channel.status(), "echo channel");
  if (!(*echo_channel)->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(5)))) {
    Die(absl::UnavailableError("cannot connect"), "echo channel");
  }
  auto echo_stub = vantage::bench::Echo::NewStub(*echo_channel);
  perspective::RemoteObserver::Options remote_options;
  remote_options.address = (*perspective)->address();
  remote_options.tls = client_tls;
  remote_options.expected_id = "bench-1";
  remote_options.expected_rir = v1::RIR_ARIN;
  absl::StatusOr<std::unique_ptr<perspective::RemoteObserver>> remote =
      perspective::RemoteObserver::Create(remote_options);
  if (!remote.ok()) Die(remote.status(), "remote observer");
  if (!(*remote)->WaitForConnected(absl::Now() + absl::Seconds(5))) {
    Die(absl::UnavailableError("cannot connect"), "perspective channel");
  }

  const std::string payload(static_cast<size_t>(absl::GetFlag(FLAGS_payload)), 'x');
  const pid_t echo_pid = (*echo_server)->pid();
  const pid_t perspective_pid = (*perspective)->process().pid();
  RawLookups raw((*dns)->resolver_config());
  LeafNames raw_leaf(leaf_names);
  LeafNames observe_leaf(leaf_names);

  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  std::printf(
      "\n%d x %.1f s per measurement after %.1f s warm-up; closed loop, C calls in flight;\n"
      "workloads interleaved per repeat; cpu/op and cs/op (context switches) count the client\n"
      "and its server process (echo server / vantage-perspective; knotd not counted)\n\n",
      repeats, seconds, warmup);
  std::printf("%-22s %5s %10s %10s %10s %10s %8s %7s\n", "workload", "C", "rate/s", "p50 us",
              "p99 us", "cpu/op us", "cs/op", "errors");
  const std::vector<std::string> workloads = absl::GetFlag(FLAGS_workloads);
  auto want = [&workloads](absl::string_view w) {
    return std::find(workloads.begin(), workloads.end(), w) != workloads.end();
  };
  enum { kEcho, kLookupWarm, kLookupLeaf, kObserveWarm, kObserveLeaf, kWorkloads };
  const char* const kNames[kWorkloads] = {"grpc echo (mTLS)", "libunbound warm",
                                          "libunbound leaf miss", "Observe warm",
                                          "Observe leaf miss"};
  const char* const kFlags[kWorkloads] = {"echo", "lookup_warm", "lookup_leaf", "observe_warm",
                                          "observe_leaf"};
  // runs[c index][workload] = one Stats per repeat.
  std::vector<std::vector<std::vector<Stats>>> runs(
      concurrency.size(), std::vector<std::vector<Stats>>(kWorkloads));
  for (int r = 0; r < repeats; ++r) {
    for (size_t ci = 0; ci < concurrency.size(); ++ci) {
      const int c = concurrency[ci];
      for (int w = 0; w < kWorkloads; ++w) {
        if (!want(kFlags[w])) continue;
        Stats s;
        switch (w) {
          case kEcho:
            s = RunEcho(echo_stub.get(), payload, c, warmup, seconds, echo_pid);
            break;
          case kLookupWarm:
            s = raw.Run(c, warmup, seconds, nullptr);
            break;
          case kLookupLeaf:
            s = raw.Run(c, warmup, seconds, &raw_leaf);
            break;
          case kObserveWarm:
            s = RunObserve(remote->get(), nullptr, c, warmup, seconds, perspective_pid);
            break;
          case kObserveLeaf:
            s = RunObserve(remote->get(), &observe_leaf, c, warmup, seconds, perspective_pid);
            break;
        }
        if (repeats > 1) std::printf("[run %d] ", r + 1);
        PrintRow(kNames[w], c, s);
        runs[ci][w].push_back(std::move(s));
      }
    }
  }
  if (repeats > 1) {
    std::printf("\nmedians of %d runs:\n", repeats);
    for (size_t ci = 0; ci < concurrency.size(); ++ci) {
      for (int w = 0; w < kWorkloads; ++w) {
        if (!runs[ci][w].empty()) PrintRow(kNames[w], concurrency[ci], Median(runs[ci][w]));
      }
    }
  }
  if (!(want("echo") && want("lookup_warm") && want("lookup_leaf") && want("observe_warm") &&
        want("observe_leaf"))) {
    return 0;
  }

  std::printf(
      "\nfloor(C) = 1 / (1/echo(C) + 1/lookup(C)) from the medians; ratio = observe/floor;\n"
      "per-run ratios use the echo and lookup runs of the same repeat. Target >= 0.80.\n");
  std::printf("%-10s %5s %10s %10s %10s %10s %7s   %s\n", "workload", "C", "echo/s",
              "lookup/s", "floor/s", "observe/s", "ratio", "per-run ratios");
  bool all_met = true;
  for (size_t ci = 0; ci < concurrency.size(); ++ci) {
    for (int leaf = 0; leaf < 2; ++leaf) {
      const std::vector<Stats>& echo = runs[ci][kEcho];
      const std::vector<Stats>& lookup = runs[ci][leaf ? kLookupLeaf : kLookupWarm];
      const std::vector<Stats>& observe = runs[ci][leaf ? kObserveLeaf : kObserveWarm];
      const double floor = Floor(Median(echo).Rate(), Median(lookup).Rate());
      const double ratio = floor > 0 ? Median(observe).Rate() / floor : 0;
      std::vector<std::string> per_run;
      for (int r = 0; r < repeats; ++r) {
        const double f = Floor(echo[r].Rate(), lookup[r].Rate());
        per_run.push_back(absl::StrFormat("%.2f", f > 0 ? observe[r].Rate() / f : 0));
      }
      if (ratio < 0.8) all_met = false;
      std::printf("%-10s %5d %10.0f %10.0f %10.0f %10.0f %7.2f   %s%s\n", leaf ? "leaf" : "warm",
                  concurrency[ci], Median(echo).Rate(), Median(lookup).Rate(), floor,
                  Median(observe).Rate(), ratio, absl::StrJoin(per_run, " ").c_str(),
                  ratio < 0.8 ? "  below target" : "");
    }
  }
  std::printf("\nleaf names used: libunbound %d, Observe %d (of %d)\n", raw_leaf.used(),
              observe_leaf.used(), leaf_names);
  std::printf("target (>= 0.80 in every row): %s\n", all_met ? "met" : "NOT met");
  remote->reset();
  return 0;
}

}  // namespace
}  // namespace vantage::bench

int main(int argc, char** argv) { return vantage::bench::Main(argc, argv); }
