// perspective_bench: Observe calls/s and latency of a real vantage-perspective
// process over gRPC mTLS, next to the floors measured in the SAME run:
//  (a) a bare unary gRPC echo over the same mTLS setup (a separate echo
//      server process, callback API on both sides; tests/bench/echo.h);
//  (b) raw libunbound lookups with the API the observer uses
//      (ub_resolve_event in a libevent loop), configured like the observer
//      (tests/bench/raw_lookups.h);
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
//       [--nostream]
// (one command line)
//
// The floor for Observe at concurrency C: one Observe costs one gRPC call and
// one lookup, and on this 2-core machine the client, the perspective and
// knotd share the same CPUs, so their costs add up per operation:
//   floor(C) = 1 / (1/echo(C) + 1/lookup(C))
// (both are closed-loop rates at the same C; when latency-bound, 1/rate is
// the per-call latency and the formula adds the latencies; when CPU-bound it
// adds the CPU time per operation). Target: observe(C) >= 0.8 * floor(C).
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "perspective/remote_observer.h"
#include "tests/bench/closed_loop.h"
#include "tests/bench/echo.h"
#include "tests/bench/raw_lookups.h"
#include "tests/dns/fixture.h"
#include "tests/harness/netns.h"
#include "tests/perspective/perspective_process.h"
#include "tests/pki/test_pki.h"

ABSL_FLAG(double, seconds, 3.0, "Measured seconds per run.");
ABSL_FLAG(bool, stream, true,
          "Observe over RemoteObserver's long-lived ObserveStream (the VA's default); "
          "--nostream: one unary Observe call each.");
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

// ---- (c) Observe over gRPC mTLS ----

Stats RunObserve(perspective::RemoteObserver* remote, LeafNames* leaf, int concurrency,
                 double warmup, double seconds, pid_t server_pid) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [remote, leaf](ClosedLoop::Done done) {
        v1::ObserveRequest request;
        request.set_fqdn(leaf != nullptr ? leaf->Next() : "example.test");
        if (request.fqdn().empty()) return false;
        request.set_request_id("bench");
        remote->Observe(request, absl::Now() + absl::Seconds(30),
                        [done = std::move(done)](absl::StatusOr<v1::Observation> o) {
                          if (!o.ok()) {
                            done(o.status());
                          } else if (o->txt().lookup().dnssec_state() !=
                                         v1::DNSSEC_STATE_SECURE ||
                                     o->txt().records_size() != 1) {
                            done(absl::InternalError("not one secure TXT record"));
                          } else {
                            done(absl::OkStatus());
                          }
                        });
        return true;
      },
      {server_pid});
}

// ---- the run ----

void Die(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "perspective_bench: %s: %s\n", what, status.ToString().c_str());
  std::exit(1);
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
  absl::StatusOr<EchoServer> echo_server = StartEchoServer("127.0.0.1:0", pki->dir(), "");
  if (!echo_server.ok()) Die(echo_server.status(), "echo server");
  const std::string echo_address = echo_server->address;

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
  auto echo_stub = Echo::NewStub(*echo_channel);
  perspective::RemoteObserver::Options remote_options;
  remote_options.address = (*perspective)->address();
  remote_options.tls = client_tls;
  remote_options.expected_id = "bench-1";
  remote_options.expected_rir = v1::RIR_ARIN;
  remote_options.use_stream = absl::GetFlag(FLAGS_stream);
  absl::StatusOr<std::unique_ptr<perspective::RemoteObserver>> remote =
      perspective::RemoteObserver::Create(remote_options);
  if (!remote.ok()) Die(remote.status(), "remote observer");
  if (!(*remote)->WaitForConnected(absl::Now() + absl::Seconds(5))) {
    Die(absl::UnavailableError("cannot connect"), "perspective channel");
  }

  const std::string payload(static_cast<size_t>(absl::GetFlag(FLAGS_payload)), 'x');
  const pid_t echo_pid = echo_server->process->pid();
  const pid_t perspective_pid = (*perspective)->process().pid();
  absl::StatusOr<std::unique_ptr<RawLookups>> raw = RawLookups::Create((*dns)->resolver_config());
  if (!raw.ok()) Die(raw.status(), "raw libunbound lookups");
  LeafNames raw_leaf(leaf_names);
  LeafNames observe_leaf(leaf_names);

  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  std::printf(
      "\n%d x %.1f s per measurement after %.1f s warm-up; closed loop, C calls in flight;\n"
      "workloads interleaved per repeat; cpu/op and cs/op (context switches) count the client\n"
      "and its server process (echo server / vantage-perspective; knotd not counted);\n"
      "Observe over %s\n\n",
      repeats, seconds, warmup,
      absl::GetFlag(FLAGS_stream) ? "one ObserveStream" : "unary calls");
  PrintHeader();
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
            s = RunEcho(echo_stub.get(), payload, c, warmup, seconds, {echo_pid});
            break;
          case kLookupWarm:
            s = (*raw)->Run(c, warmup, seconds, nullptr, {});
            break;
          case kLookupLeaf:
            s = (*raw)->Run(c, warmup, seconds, &raw_leaf, {});
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
