// va_bench: end-to-end validations/s and latency of the whole system on this
// machine - a real vantage-va process (its own libunbound primary, SQLite
// account store, audit log with its default fsync policy) asking 5 real
// vantage-perspective processes, each in its own region network namespace,
// over mTLS, against the real DNS fixture (knotd, signed zones) - next to the
// floors measured in the SAME run. Needs root (network namespaces).
//
//   bazel run --config=opt //bench:va_bench -- [--seconds=3] [--warmup=0.5]
//       [--concurrency=1,16,64] [--repeats=3] [--leaf_names=120000]
//       [--audit_fsync=every_record|interval|never] [--blackhole_remote=2]
//       [--va_binary=PATH (another build's vantage-va, for before/after)]
// (one command line; ~9 minutes with the defaults)
//
// Measurements, each a closed loop at concurrency C (C calls in flight, each
// answer immediately replaced by a new call; tests/bench/closed_loop.h):
//  - grpc echo: a bare unary gRPC echo over the same mTLS, from this process
//    (which sits where the VA sits) to an echo server in a region namespace,
//    so it crosses the same veth as a VA -> perspective call;
//  - fan-out warm / leaf miss: the same echo sent at once to 5 echo servers,
//    one in each region namespace (where the 5 perspectives are), each of
//    which answers after a raw libunbound lookup of the name (its own cache,
//    on a thread of its own, as a perspective's) - the warm domain, or a
//    fresh leaf name per fan-out; done when 4 answered: a VA's observation
//    round with nothing in it but the calls and the lookups (BR 3.2.2.9:
//    with 5 remotes the quorum is certain at 4 corroborations);
//  - libunbound warm / leaf miss: raw ub_resolve_event lookups configured
//    like the observer (tests/bench/raw_lookups.h);
//  - VA warm: ValidatePersist through the RA's long-lived mTLS channel
//    (callback API), the same domain every time (a cache hit at every
//    resolver);
//  - VA leaf miss: a fresh domain per call (t<N>.leaf.test, pre-populated in
//    the fixture with a record that is valid for the benchmark's account in
//    any domain: the domain-independent form, SPEC.md 3), so all 6 resolvers
//    miss and validate a new signed RRset;
//  - VA warm with one remote black-holed (lab Isolate: every packet on its
//    link dropped), answered at quorum by the other 4 (BR 3.2.2.9).
// Every VA answer must be VALID; anything else is counted, printed, and makes
// its run invalid.
//
// Floors (what one validation cannot cost less than, built from the same
// run's measurements at the same C; 1/rate is the time per operation, which
// adds up whether the loop is latency-bound or CPU-bound):
//   floor   = 1 / (1/fan-out(C) + 1/lookup(C)) - the 5 VA->perspective
//             calls with the remotes' 5 lookups, as a validation makes them
//             (at once, to 5 servers in 5 regions), plus the primary's
//             lookup: the target is judged against this one (tracker issue
//             4) at C > 1; at C = 1 the rate is 1/latency and is judged by
//             the latency target (this floor leaves the RA->VA call out, so
//             at C = 1 0.8 of it is above the latency floor's own rate);
//   formula = 1 / (5/echo(C) + 6/lookup(C)) - the same calls priced at one
//             server's echo rate; printed for information, with the share
//             of it a fan-out with no work in it reaches (on 2 CPUs, below
//             0.8 at C=16: 5 servers each see a fifth of the calls, so each
//             wakeup carries fewer of them than the one echo server's do).
//   latency floor (C=1) = echo + max(fan-out, lookup): the RA->VA call, then
//                  the observation round (5 calls with their lookups at
//                  once, due at the 4th answer) beside the primary's
//                  lookup, from the C=1 medians. Measured, because on this
//                  2-CPU machine 5 parallel legs do not cost one: 6
//                  processes wake at once for 2 CPUs (perf-floors README:
//                  "~0.6 ms warm" with the legs in parallel).
//   formula floor (C=1) = 2 echo + lookup (for information): the same path
//                  if the 5 legs ran in parallel for free.
// Targets: VA(C) >= 0.8 x floor(C) for C > 1; unloaded (C=1) p50 <= 2 x latency
// floor; one black-holed remote adds <= 5 ms to p99 at the same C.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "proto/validation.grpc.pb.h"
#include "tests/bench/closed_loop.h"
#include "tests/bench/echo.h"
#include "tests/bench/proc_stats.h"
#include "tests/bench/raw_lookups.h"
#include "tests/harness/netns.h"
#include "tests/harness/subprocess.h"
#include "tests/perspective/perspective_process.h"
#include "tests/va/va_cluster.h"

ABSL_FLAG(double, seconds, 3.0, "Measured seconds per run.");
ABSL_FLAG(double, warmup, 0.5, "Warm-up seconds before each measured run (not counted).");
ABSL_FLAG(std::vector<std::string>, concurrency, std::vector<std::string>({"1", "16", "64"}),
          "Calls in flight, comma-separated.");
ABSL_FLAG(int, repeats, 3, "Runs of every measurement; the tables show medians.");
ABSL_FLAG(int, leaf_names, 120000,
          "Pre-populated leaf names (each used once per resolver; t0 is the warm domain).");
ABSL_FLAG(std::vector<std::string>, workloads,
          std::vector<std::string>({"echo", "fanout_warm", "fanout_leaf", "lookup_warm",
                                    "lookup_leaf", "va_warm", "va_blackhole", "va_leaf"}),
          "Which measurements to run (the summary tables need all eight).");
ABSL_FLAG(int, payload, 200, "Echo payload bytes (an Observation is a few hundred bytes).");
ABSL_FLAG(std::string, audit_fsync, "every_record",
          "The VA's audit fsync policy: every_record (the default), interval or never.");
ABSL_FLAG(int, blackhole_remote, 2, "0-based index of the remote black-holed in va_blackhole.");
ABSL_FLAG(int, echo_region, 0, "Region namespace (0-based) the echo server runs in.");
ABSL_FLAG(bool, keep_cluster_dir, false,
          "Keep the cluster's directory (audit log, fixture) after a valid run; it is always "
          "kept after a run with non-VALID answers.");
ABSL_FLAG(std::string, va_binary, "",
          "Another build's vantage-va to measure instead of this build's (before/after "
          "comparisons); empty: this build's.");
ABSL_FLAG(std::string, serve_echo, "", "Internal: run as the echo server on this address.");
ABSL_FLAG(std::string, pki_dir, "", "Internal: the test PKI of the echo server.");
ABSL_FLAG(std::string, echo_resolver, "",
          "Internal: the echo server's v1.ResolverConfig textproto (fan-out lookups).");

namespace vantage::bench {
namespace {

// The warm domain: a leaf name kept out of the leaf-miss sequence.
constexpr char kWarmDomain[] = "t0.leaf.test";
constexpr int kFirstLeaf = 1;
constexpr int kLabelWidth = 26;
constexpr absl::Duration kCallDeadline = absl::Seconds(30);
constexpr int kRemotes = 5;
constexpr int kQuorum = 4;  // BR 3.2.2.9 with 5 remotes: at most 1 may not corroborate

void Die(const absl::Status& status, absl::string_view what) {
  std::fprintf(stderr, "va_bench: %s: %s\n", std::string(what).c_str(), status.ToString().c_str());
  std::exit(1);
}

// ---- the VA through the RA's channel ----

struct ValidateCall {
  grpc::ClientContext context;
  v1::ValidatePersistRequest request;
  v1::ValidationResult response;
};

Stats RunVa(v1::ValidationAuthority::Stub* stub, const std::string& account_url, LeafNames* leaf,
            int concurrency, double warmup, double seconds, const std::vector<pid_t>& others) {
  ClosedLoop loop;
  return loop.Run(
      concurrency, warmup, seconds,
      [stub, &account_url, leaf](ClosedLoop::Done done) {
        const std::string fqdn = leaf != nullptr ? leaf->Next() : kWarmDomain;
        if (fqdn.empty()) return false;
        auto* call = new ValidateCall;
        call->request.set_identifier(fqdn);
        call->request.set_account_url(account_url);
        call->context.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
        stub->async()->ValidatePersist(
            &call->context, &call->request, &call->response,
            [call, done = std::move(done)](grpc::Status status) {
              absl::Status result;
              if (!status.ok()) {
                result = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                      absl::StrCat("RPC: ", status.error_message()));
              } else if (call->response.outcome() != v1::OUTCOME_VALID) {
                result = absl::FailedPreconditionError(
                    absl::StrCat(v1::Outcome_Name(call->response.outcome()), ": ",
                                 call->response.problem().detail()));
              }
              delete call;
              done(std::move(result));
            });
        return true;
      },
      others);
}

// ---- the floors' echo servers ----

struct EchoEndpoint {
  EchoServer server;
  std::unique_ptr<Echo::Stub> stub;
};

// StartEchoIn starts an echo server in region `region`'s namespace (where
// that perspective is) and connects to it over the VA's mTLS; exits on
// failure.
EchoEndpoint StartEchoIn(tests::VaCluster& cluster, int region, const std::string& resolver) {
  absl::StatusOr<EchoServer> server =
      StartEchoServer(absl::StrCat(cluster.lab().RegionAddress(region), ":4432"),
                      cluster.pki().dir(), cluster.lab().RegionNamespace(region), resolver);
  if (!server.ok()) Die(server.status(), absl::StrCat("echo server in region ", region));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = common::CreateChannel(
      server->address, cluster.pki().ClientTls(cluster.pki().client(tests::kVaClientName),
                                               tests::kPerspectiveServerName));
  if (!channel.ok()) Die(channel.status(), "echo channel");
  if (!(*channel)->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(5)))) {
    Die(absl::UnavailableError("cannot connect"), absl::StrCat("echo channel to ", region));
  }
  return EchoEndpoint{*std::move(server), Echo::NewStub(*channel)};
}

// ---- waiting for a quiet system between runs ----

// VaInFlight: the VA's in-flight gauge (stragglers included), -1 unknown.
double VaInFlight(tests::VaCluster& cluster) {
  absl::StatusOr<std::string> metrics =
      tests::HttpGet("127.0.0.1", cluster.va().metrics_port(), "/metrics");
  if (!metrics.ok()) return -1;
  return tests::MetricValue(*metrics, "vantage_va_validations_in_flight");
}

// WaitIdle polls until the VA has no validation in flight (stragglers of a
// black-holed remote finish at their perspective deadline).
absl::Status WaitIdle(tests::VaCluster& cluster, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  double in_flight = -1;
  while (absl::Now() < deadline) {
    in_flight = VaInFlight(cluster);
    if (in_flight == 0) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the VA still has ", in_flight, " validations in flight"));
}

// WaitRemoteAnswers polls with single validations of the warm domain until
// the audit record of one shows remote `index` ANSWERED (its channel is
// usable again after the black hole).
absl::Status WaitRemoteAnswers(tests::VaCluster& cluster, const std::string& account_url, int index,
                               absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "no probe answered";
  while (absl::Now() < deadline) {
    absl::StatusOr<v1::ValidationResult> result =
        cluster.Validate(kWarmDomain, account_url, false, absl::Seconds(10));
    if (!result.ok()) {
      last = result.status().ToString();
      continue;
    }
    // The record is written once every perspective finished.
    const absl::Time record_deadline = std::min(deadline, absl::Now() + absl::Seconds(10));
    bool found = false;
    while (!found && absl::Now() < record_deadline) {
      absl::StatusOr<std::vector<v1::AuditRecord>> audit = cluster.ReadRecentAudit(1 << 20);
      if (!audit.ok()) return audit.status();
      for (const v1::AuditRecord& r : *audit) {
        if (r.request_id() != result->request_id()) continue;
        found = true;
        if (r.final_perspectives_size() > index + 1 &&
            r.final_perspectives(index + 1).answer() == v1::PERSPECTIVE_ANSWER_ANSWERED) {
          return absl::OkStatus();
        }
        last = absl::StrCat("remote answer ",
                            v1::PerspectiveAnswer_Name(r.final_perspectives(index + 1).answer()));
      }
      if (!found) absl::SleepFor(absl::Milliseconds(20));
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("remote ", index + 1, " not back: ", last));
}

// ---- tables ----

enum Workload {
  kEcho,
  kFanoutWarm,
  kFanoutLeaf,
  kLookupWarm,
  kLookupLeaf,
  kVaWarm,
  kVaBlackhole,
  kVaLeaf,
  kWorkloads
};
constexpr const char* kFlags[kWorkloads] = {"echo",         "fanout_warm", "fanout_leaf",
                                            "lookup_warm",  "lookup_leaf", "va_warm",
                                            "va_blackhole", "va_leaf"};

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double MedianPercentile(const std::vector<Stats>& runs, double p) {
  std::vector<double> v;
  for (const Stats& s : runs) v.push_back(s.Percentile(p));
  return MedianOf(v);
}

double RateFloor(double echo, double lookup, int calls, int lookups) {
  return echo > 0 && lookup > 0 ? 1.0 / (calls / echo + lookups / lookup) : 0;
}

void PrintErrors(const Stats& s) {
  for (const auto& [message, count] : s.error_samples) {
    std::printf("    non-valid x%ld: %s\n", count, message.c_str());
  }
  if (s.unmeasured_errors > 0) {
    std::printf("    (%ld of them in warm-up or drain)\n", s.unmeasured_errors);
  }
}

bool Invalid(const Stats& s) { return s.errors > 0 || s.unmeasured_errors > 0; }

// PrintCpuBreakdown: CPU per validation by process group, for a VA run
// (cpu_each = this process, then cluster.ProcessIds(): vantage-va, the 5
// perspectives, the knotd instances).
void PrintCpuBreakdown(const Stats& s, int remotes) {
  if (s.n <= 0 || s.cpu_each.size() < static_cast<size_t>(2 + remotes)) return;
  const double n = static_cast<double>(s.n);
  double perspectives = 0, knotd = 0;
  for (int i = 0; i < remotes; ++i) perspectives += s.cpu_each[2 + i];
  for (size_t i = 2 + remotes; i < s.cpu_each.size(); ++i) knotd += s.cpu_each[i];
  std::printf(
      "    cpu/op us: bench client %.0f, vantage-va %.0f, %d perspectives %.0f, knotd %.0f\n",
      s.cpu_each[0] / n * 1e6, s.cpu_each[1] / n * 1e6, remotes, perspectives / n * 1e6,
      knotd / n * 1e6);
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // As vantage-perspective and vantage-va do: no lock-order recording
  // (Debian's Abseil is built without NDEBUG) in the client or echo server.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (!absl::GetFlag(FLAGS_serve_echo).empty()) {
    return ServeEcho(absl::GetFlag(FLAGS_serve_echo), absl::GetFlag(FLAGS_pki_dir),
                     absl::GetFlag(FLAGS_echo_resolver));
  }
  const std::string load_at_start = LoadAverage();
  if (LoadAverage1() > 0.5) {
    std::printf(
        "va_bench: WARNING: 1-minute load average %.2f > 0.5 at start: other work shares "
        "the CPUs, the numbers are not comparable with a quiet machine's\n",
        LoadAverage1());
  }
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const int repeats = std::max(1, absl::GetFlag(FLAGS_repeats));
  const int leaf_names = absl::GetFlag(FLAGS_leaf_names);
  std::vector<int> concurrency;
  for (const std::string& c : absl::GetFlag(FLAGS_concurrency)) {
    int v = 0;
    if (!absl::SimpleAtoi(c, &v) || v < 1) {
      std::fprintf(stderr, "va_bench: --concurrency: \"%s\" is not a positive number\n", c.c_str());
      return 2;
    }
    concurrency.push_back(v);
  }
  v1::AuditConfig::Fsync fsync = v1::AuditConfig::FSYNC_UNSPECIFIED;
  const std::string fsync_flag = absl::AsciiStrToLower(absl::GetFlag(FLAGS_audit_fsync));
  if (fsync_flag == "every_record") fsync = v1::AuditConfig::FSYNC_EVERY_RECORD;
  if (fsync_flag == "interval") fsync = v1::AuditConfig::FSYNC_INTERVAL;
  if (fsync_flag == "never") fsync = v1::AuditConfig::FSYNC_NEVER;
  if (fsync == v1::AuditConfig::FSYNC_UNSPECIFIED) {
    std::fprintf(stderr, "va_bench: --audit_fsync: \"%s\" is not every_record, interval or never\n",
                 fsync_flag.c_str());
    return 2;
  }
  const int blackhole = absl::GetFlag(FLAGS_blackhole_remote);
  const int echo_region = absl::GetFlag(FLAGS_echo_region);
  if (blackhole < 0 || blackhole >= kRemotes || echo_region < 0 || echo_region >= kRemotes) {
    std::fprintf(stderr, "va_bench: --blackhole_remote and --echo_region must be 0..%d\n",
                 kRemotes - 1);
    return 2;
  }
  if (leaf_names < 2) {
    std::fprintf(stderr, "va_bench: --leaf_names must be at least 2\n");
    return 2;
  }

  if (absl::Status s = harness::EnterPrivateNetworkNamespace(); !s.ok()) {
    Die(s, "private network namespace (run as root)");
  }
  // The account, and a record valid for it in every domain (SPEC.md 3,
  // D = "*"), which every leaf name serves.
  absl::StatusOr<tests::TestAccount> account =
      tests::MakeTestAccount("https://ca.example/acct/bench");
  if (!account.ok()) Die(account.status(), "test account");
  std::printf(
      "va_bench: starting the cluster (DNS fixture with %d leaf names, 5 perspectives, "
      "vantage-va)...\n",
      leaf_names);
  std::fflush(stdout);
  tests::VaCluster::Options options;
  options.leaf_names = leaf_names;
  options.leaf_record = tests::VaCluster::RecordFor(*account, "*");
  options.audit_fsync = fsync;
  options.perspective_deadline = absl::ZeroDuration();  // the VA's default
  options.va_binary = absl::GetFlag(FLAGS_va_binary);
  if (!options.va_binary.empty()) {
    std::printf("va_bench: measuring the vantage-va at %s\n", options.va_binary.c_str());
  }
  absl::StatusOr<std::unique_ptr<tests::VaCluster>> started = tests::VaCluster::Start(options);
  if (!started.ok()) Die(started.status(), "cluster");
  tests::VaCluster& cluster = **started;
  // The cluster's directory holds the audit log (~19 KB per validation: GBs
  // after a full run) and the fixture: removed after a valid run.
  auto finish = [&started](int code) {
    const std::string dir = (*started)->dir();
    started->reset();
    if (code == 0 && !absl::GetFlag(FLAGS_keep_cluster_dir)) {
      harness::RunCommand({"rm", "-rf", dir}, absl::Seconds(120)).IgnoreError();
    } else {
      std::printf("cluster directory kept: %s\n", dir.c_str());
    }
    return code;
  };
  if (absl::Status s = cluster.StoreAccount(*account); !s.ok()) Die(s, "account store");
  const std::string& url = account->url;

  // The floors' pieces. The echo servers resolve like the perspectives.
  const std::string echo_resolver = absl::StrCat(cluster.dir(), "/echo-resolver.textproto");
  {
    std::string text;
    if (!google::protobuf::TextFormat::PrintToString(cluster.dns().resolver_config(), &text)) {
      Die(absl::InternalError("cannot print"), "echo resolver config");
    }
    std::ofstream out(echo_resolver);
    out << text;
    if (!out.flush()) Die(absl::InternalError("cannot write"), echo_resolver);
  }
  // One echo server in every region: the fan-out's 5; the single-echo floor
  // uses region echo_region's.
  std::vector<EchoEndpoint> echoes;
  std::vector<Echo::Stub*> fanout_stubs;
  std::vector<pid_t> fanout_pids;
  for (int i = 0; i < kRemotes; ++i) {
    echoes.push_back(StartEchoIn(cluster, i, echo_resolver));
    fanout_stubs.push_back(echoes.back().stub.get());
    fanout_pids.push_back(echoes.back().server.process->pid());
  }
  Echo::Stub* const echo_stub = fanout_stubs[echo_region];
  absl::StatusOr<std::unique_ptr<RawLookups>> raw =
      RawLookups::Create(cluster.dns().resolver_config());
  if (!raw.ok()) Die(raw.status(), "raw libunbound lookups");
  (*raw)->set_warm_fqdn(kWarmDomain);

  // Which processes each measurement's CPU counts (besides this one).
  const std::vector<pid_t> cluster_pids = cluster.ProcessIds();
  std::vector<pid_t> knotd_pids;
  for (pid_t p : cluster_pids) {
    bool server = p == cluster.va().process().pid();
    for (int i = 0; i < cluster.remotes(); ++i) {
      server = server || p == cluster.remote(i).process().pid();
    }
    if (!server) knotd_pids.push_back(p);
  }
  const pid_t echo_pid = fanout_pids[echo_region];
  std::vector<pid_t> fanout_and_knotd = fanout_pids;
  fanout_and_knotd.insert(fanout_and_knotd.end(), knotd_pids.begin(), knotd_pids.end());

  // Both workloads must be VALID before anything is measured.
  for (const std::string& d : {std::string(kWarmDomain), std::string("t1.leaf.test")}) {
    absl::StatusOr<v1::ValidationResult> r = cluster.Validate(d, url);
    if (!r.ok()) Die(r.status(), absl::StrCat("first validation of ", d));
    if (r->outcome() != v1::OUTCOME_VALID) {
      Die(absl::FailedPreconditionError(r->problem().detail()),
          absl::StrCat("first validation of ", d, " is ", v1::Outcome_Name(r->outcome())));
    }
  }
  LeafNames raw_leaf(leaf_names, kFirstLeaf);
  LeafNames va_leaf(leaf_names, kFirstLeaf + 1);  // t1 was used just above
  LeafNames fan_leaf(leaf_names, kFirstLeaf);

  std::printf(
      "\nload average at start: %s (before the cluster started); %ld CPUs\n"
      "%d x %.1f s per measurement after %.1f s warm-up; closed loop, C calls in flight;\n"
      "workloads interleaved per repeat. VA: default configuration (perspective deadline 5 s),\n"
      "audit fsync %s, 5 remotes + primary, SQLite store. cpu/op and cs/op count this process\n"
      "plus: echo server (echo), the 5 echo servers + knotd (fan-out), knotd (lookups), vantage-va "
      "+\n"
      "5 vantage-perspective + knotd (VA).\n"
      "errors = answers that are not VALID (every one makes its run invalid).\n\n",
      load_at_start.c_str(), sysconf(_SC_NPROCESSORS_ONLN), repeats, seconds, warmup,
      fsync_flag.c_str());
  const int run_label_width = kLabelWidth + (repeats > 1 ? 8 : 0);
  PrintHeader(run_label_width);
  const std::vector<std::string> workloads = absl::GetFlag(FLAGS_workloads);
  auto want = [&workloads](int w) {
    return std::find(workloads.begin(), workloads.end(), kFlags[w]) != workloads.end();
  };
  const std::string bh_label = absl::StrCat("VA warm, r", blackhole + 1, " black-holed");
  const std::string names[kWorkloads] = {"grpc echo (mTLS, region)",
                                         "fan-out 5+lookup warm",
                                         "fan-out 5+lookup leaf",
                                         "libunbound warm",
                                         "libunbound leaf miss",
                                         "VA warm",
                                         bh_label,
                                         "VA leaf miss"};
  // runs[c index][workload] = one Stats per repeat.
  std::vector<std::vector<std::vector<Stats>>> runs(concurrency.size(),
                                                    std::vector<std::vector<Stats>>(kWorkloads));
  int invalid_runs = 0;
  for (int r = 0; r < repeats; ++r) {
    for (size_t ci = 0; ci < concurrency.size(); ++ci) {
      const int c = concurrency[ci];
      for (int w = 0; w < kWorkloads; ++w) {
        if (!want(w)) continue;
        if (absl::Status s = WaitIdle(cluster, absl::Seconds(30)); !s.ok()) Die(s, "idle");
        Stats s;
        switch (static_cast<Workload>(w)) {
          case kEcho:
            s = RunEcho(echo_stub, std::string(absl::GetFlag(FLAGS_payload), 'x'), c, warmup,
                        seconds, {echo_pid});
            break;
          case kFanoutWarm:
          case kFanoutLeaf:
            s = RunFanout(fanout_stubs, std::string(absl::GetFlag(FLAGS_payload), 'x'), kQuorum,
                          w == kFanoutLeaf ? &fan_leaf : nullptr, kWarmDomain, c, warmup, seconds,
                          fanout_and_knotd);
            break;
          case kLookupWarm:
            s = (*raw)->Run(c, warmup, seconds, nullptr, knotd_pids);
            break;
          case kLookupLeaf:
            s = (*raw)->Run(c, warmup, seconds, &raw_leaf, knotd_pids);
            break;
          case kVaWarm:
            s = RunVa(&cluster.RaStub(), url, nullptr, c, warmup, seconds, cluster_pids);
            break;
          case kVaBlackhole: {
            if (absl::Status st = cluster.lab().Isolate(blackhole, true); !st.ok()) {
              Die(st, "isolate");
            }
            s = RunVa(&cluster.RaStub(), url, nullptr, c, warmup, seconds, cluster_pids);
            if (absl::Status st = cluster.lab().Isolate(blackhole, false); !st.ok()) {
              Die(st, "un-isolate");
            }
            if (absl::Status st = WaitIdle(cluster, absl::Seconds(30)); !st.ok()) {
              Die(st, "after the black hole");
            }
            if (absl::Status st = WaitRemoteAnswers(cluster, url, blackhole, absl::Seconds(60));
                !st.ok()) {
              Die(st, "after the black hole");
            }
            break;
          }
          case kVaLeaf:
            s = RunVa(&cluster.RaStub(), url, &va_leaf, c, warmup, seconds, cluster_pids);
            break;
          case kWorkloads:
            break;
        }
        PrintRow(repeats > 1 ? absl::StrCat("[run ", r + 1, "] ", names[w]) : names[w], c, s,
                 run_label_width);
        if (w == kVaWarm || w == kVaBlackhole || w == kVaLeaf) {
          PrintCpuBreakdown(s, cluster.remotes());
        }
        if (Invalid(s)) {
          ++invalid_runs;
          PrintErrors(s);
        }
        runs[ci][w].push_back(std::move(s));
      }
    }
  }
  if (repeats > 1) {
    std::printf("\nmedians of %d runs (the run with the median rate):\n", repeats);
    PrintHeader(kLabelWidth);
    for (size_t ci = 0; ci < concurrency.size(); ++ci) {
      for (int w = 0; w < kWorkloads; ++w) {
        if (!runs[ci][w].empty())
          PrintRow(names[w], concurrency[ci], Median(runs[ci][w]), kLabelWidth);
      }
    }
  }
  std::printf("\nleaf names used: libunbound %d, fan-out %d, VA %d (of %d)\n", raw_leaf.used(),
              fan_leaf.used(), va_leaf.used(), leaf_names);
  bool all_wanted = true;
  for (int w = 0; w < kWorkloads; ++w) all_wanted = all_wanted && want(w);
  if (!all_wanted) {
    std::printf("load average at end: %s\n", LoadAverage().c_str());
    return finish(invalid_runs == 0 ? 0 : 1);
  }

  // ---- throughput vs the floors ----
  std::printf(
      "\nThroughput floors from the medians at the same C (per-run ratios use the same repeat):\n"
      "  floor   = 1 / (1/fan-out + 1/lookup)  [the 5 VA->perspective calls with the remotes'\n"
      "            lookups, as a validation makes them - at once, 5 servers in 5 regions - plus\n"
      "            the primary's lookup]\n"
      "  formula = 1 / (5/echo + 6/lookup)     [the same, priced at ONE server's echo rate]\n"
      "  ratio = VA / floor; target >= 0.80 at C > 1 (at C = 1 the rate is 1/latency: judged\n"
      "  by the latency target below). fan/formula: what the round with no work in it reaches\n"
      "  of the formula (the formula is no floor where that is below 0.80)\n");
  std::printf("%-6s %4s %9s %9s %9s %9s %9s %9s %7s %8s %8s   %s\n", "", "C", "echo/s", "fan/s",
              "lookup/s", "floor/s", "formula", "VA/s", "ratio", "formula", "fan/form",
              "per-run ratios");
  bool rate_met = true;
  for (size_t ci = 0; ci < concurrency.size(); ++ci) {
    for (int leaf = 0; leaf < 2; ++leaf) {
      const std::vector<Stats>& echo = runs[ci][kEcho];
      const std::vector<Stats>& fan = runs[ci][leaf ? kFanoutLeaf : kFanoutWarm];
      const std::vector<Stats>& lookup = runs[ci][leaf ? kLookupLeaf : kLookupWarm];
      const std::vector<Stats>& va = runs[ci][leaf ? kVaLeaf : kVaWarm];
      const double e = Median(echo).Rate(), f = Median(fan).Rate(), l = Median(lookup).Rate(),
                   v = Median(va).Rate();
      const double floor = RateFloor(f, l, 1, 1), formula = RateFloor(e, l, 5, 6);
      const double ratio = floor > 0 ? v / floor : 0;
      std::vector<std::string> per_run;
      for (int r = 0; r < repeats; ++r) {
        const double fr = RateFloor(fan[r].Rate(), lookup[r].Rate(), 1, 1);
        per_run.push_back(absl::StrFormat("%.2f", fr > 0 ? va[r].Rate() / fr : 0));
      }
      const bool judged = concurrency[ci] > 1;
      if (judged && ratio < 0.8) rate_met = false;
      std::printf("%-6s %4d %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %7.2f %8.2f %8.2f   %s%s\n",
                  leaf ? "leaf" : "warm", concurrency[ci], e, f, l, floor, formula, v, ratio,
                  formula > 0 ? v / formula : 0, formula > 0 ? floor / formula : 0,
                  absl::StrJoin(per_run, " ").c_str(),
                  !judged       ? "  (C=1: see latency)"
                  : ratio < 0.8 ? "  below target"
                                : "");
    }
  }

  // ---- unloaded latency vs the latency floor ----
  const auto c1 = std::find(concurrency.begin(), concurrency.end(), 1);
  bool latency_met = true;
  if (c1 == concurrency.end()) {
    std::printf("\n(no C=1 runs: no latency floor)\n");
    latency_met = false;
  } else {
    const size_t ci = static_cast<size_t>(c1 - concurrency.begin());
    const double echo_p50 = MedianPercentile(runs[ci][kEcho], 0.5);
    std::printf(
        "\nUnloaded latency (C=1, medians of the per-run p50/p99):\n"
        "  latency floor = echo p50 + max(fan-out p50, lookup p50): the RA->VA call, then the\n"
        "  observation round (5 calls with their lookups at once, due at the 4th answer:\n"
        "  measured, since on %ld CPUs 6 processes woken at once do not run in parallel)\n"
        "  beside the primary's lookup; target: VA p50 <= 2.0 x latency floor\n"
        "  (for information) formula floor = 2 x echo p50 + lookup p50: the same path if the\n"
        "  5 legs ran in parallel for free\n",
        sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("%-6s %9s %9s %9s %9s %9s %9s %9s %7s %8s\n", "", "echo p50", "fan p50", "lookup",
                "floor us", "formula", "VA p50", "VA p99", "ratio", "formula");
    for (int leaf = 0; leaf < 2; ++leaf) {
      const double fan_p50 = MedianPercentile(runs[ci][leaf ? kFanoutLeaf : kFanoutWarm], 0.5);
      const double lookup_p50 = MedianPercentile(runs[ci][leaf ? kLookupLeaf : kLookupWarm], 0.5);
      const double floor = echo_p50 + std::max(fan_p50, lookup_p50);
      const double formula = 2 * echo_p50 + lookup_p50;
      const std::vector<Stats>& va = runs[ci][leaf ? kVaLeaf : kVaWarm];
      const double p50 = MedianPercentile(va, 0.5), p99 = MedianPercentile(va, 0.99);
      const double ratio = floor > 0 ? p50 / floor : 0;
      if (ratio > 2.0) latency_met = false;
      std::printf("%-6s %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f %7.2f %8.2f%s\n",
                  leaf ? "leaf" : "warm", echo_p50 * 1e6, fan_p50 * 1e6, lookup_p50 * 1e6,
                  floor * 1e6, formula * 1e6, p50 * 1e6, p99 * 1e6, ratio,
                  formula > 0 ? p50 / formula : 0, ratio > 2.0 ? "  above target" : "");
    }
  }

  // ---- one black-holed remote ----
  std::printf(
      "\nOne remote black-holed (r%d: every packet on its link dropped), warm workload, medians "
      "of\n"
      "the per-run p99; target: p99 with - p99 without <= 5 ms at the same C\n",
      blackhole + 1);
  std::printf("%4s %10s %10s %12s %12s %10s\n", "C", "VA/s", "VA/s bh", "p99 us", "p99 us bh",
              "delta ms");
  bool blackhole_met = true;
  for (size_t ci = 0; ci < concurrency.size(); ++ci) {
    const double p99 = MedianPercentile(runs[ci][kVaWarm], 0.99);
    const double p99_bh = MedianPercentile(runs[ci][kVaBlackhole], 0.99);
    const double delta_ms = (p99_bh - p99) * 1e3;
    if (delta_ms > 5.0) blackhole_met = false;
    std::printf("%4d %10.0f %10.0f %12.0f %12.0f %10.2f%s\n", concurrency[ci],
                Median(runs[ci][kVaWarm]).Rate(), Median(runs[ci][kVaBlackhole]).Rate(), p99 * 1e6,
                p99_bh * 1e6, delta_ms, delta_ms > 5.0 ? "  above target" : "");
  }

  std::printf(
      "\ntargets: throughput >= 0.80 x floor: %s; unloaded p50 <= 2 x latency "
      "floor: %s; black hole adds <= 5 ms to p99: %s\n",
      rate_met ? "met" : "NOT met", latency_met ? "met" : "NOT met",
      blackhole_met ? "met" : "NOT met");
  std::printf("runs with non-VALID answers: %d%s\n", invalid_runs,
              invalid_runs > 0 ? " (INVALID: see the rows above)" : "");
  std::printf("load average at end: %s\n", LoadAverage().c_str());
  return finish(invalid_runs == 0 ? 0 : 1);
}

}  // namespace
}  // namespace vantage::bench

int main(int argc, char** argv) { return vantage::bench::Main(argc, argv); }
