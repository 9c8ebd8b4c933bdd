// resolver_bench: UnboundObserver::Observe throughput and latency against raw
// libunbound lookups with the same API and settings, measured in ONE run
// against the real DNS fixture (knotd, signed zones) in a private network
// namespace. Needs root.
//
//   bazel run --config=opt //perspective:resolver_bench --
//       [--seconds=2] [--rounds=4] [--k=1,16,64] [--engines=event,async]
//       [--leaf_names=100000]
//
// Workloads:
//  - warm: the same signed name again and again (every lookup a cache hit);
//  - leaf: a fresh signed name per lookup (_validation-persist.t<N>.leaf.test,
//    pre-populated in the fixture): a real cache miss each time, with the
//    zone keys cached - the realistic case of a VA looking at many domains.
// For each engine (ub_resolve_event in our libevent loop / ub_resolve_async
// with libunbound's worker thread), at K requests in flight:
//  - raw: libunbound alone, K queries outstanding, each answer immediately
//    replaced by a new query (like the perf-floors programs);
//  - observer: K Observe(TXT_PERSIST) calls outstanding, each `done`
//    immediately issuing the next Observe - the observer's whole path
//    (validation, hand-over, lookup, packet parsing, Observation).
// Raw and observer alternate in `rounds` slices of seconds/rounds each, so
// that load from other processes on this shared 2-core machine hits both.
// Printed: rate, p50/p99 latency, CPU per operation of this process (knotd
// is another process), and the ratio observer/raw (target >= 0.8).
#include <event2/event.h>
#include <sys/resource.h>
#include <unbound-event.h>
#include <unbound.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "perspective/unbound_observer.h"
#include "tests/dns/fixture.h"
#include "tests/harness/netns.h"

namespace vantage::perspective {
namespace {

using Engine = UnboundObserver::Engine;

struct Flags {
  double seconds = 2.0;
  int rounds = 4;
  std::vector<int> ks = {1, 16, 64};
  std::vector<Engine> engines = {Engine::kEvent, Engine::kAsyncThread};
  int leaf_names = 100000;
};

double CpuSeconds() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

// Names handed out to lookups: the warm name, or a new leaf name each time
// (shared by every phase, so no leaf name is ever asked twice). Thread-safe:
// the observer's chains draw names on its loop thread and on main.
class Names {
 public:
  explicit Names(int leaf_names) : leaf_names_(leaf_names) {}
  void SetLeaf(bool leaf) { leaf_.store(leaf); }
  // fqdn for Observe; false when the leaf names are used up.
  bool NextFqdn(std::string* fqdn) {
    if (!leaf_.load()) {
      *fqdn = "example.test";
      return true;
    }
    int i = next_.fetch_add(1);
    if (i >= leaf_names_) return false;
    *fqdn = absl::StrCat("t", i, ".leaf.test");
    return true;
  }
  int used() const { return std::min(next_.load(), leaf_names_); }

 private:
  const int leaf_names_;
  std::atomic<int> next_{0};
  std::atomic<bool> leaf_{false};
};

struct Result {
  // Adds another slice of the same measurement.
  void Add(const Result& r) {
    n += r.n;
    errors += r.errors;
    wall += r.wall;
    cpu += r.cpu;
    latencies.insert(latencies.end(), r.latencies.begin(), r.latencies.end());
    if (first_error.empty()) first_error = r.first_error;
  }
  long n = 0;
  std::string first_error;  // what the first failed lookup said
  long errors = 0;  // not SECURE with data
  double wall = 0;
  double cpu = 0;
  std::vector<double> latencies;  // seconds
  double Rate() const { return wall > 0 ? n / wall : 0; }
  double Percentile(double p) const {
    if (latencies.empty()) return 0;
    std::vector<double> v = latencies;
    size_t i = std::min(v.size() - 1, static_cast<size_t>(v.size() * p));
    std::nth_element(v.begin(), v.begin() + i, v.end());
    return v[i];
  }
};

// ---- raw libunbound, configured like the observer ----

void Check(int err, const char* what) {
  if (err != 0) {
    std::fprintf(stderr, "libunbound %s: %s\n", what, ub_strerror(err));
    std::exit(1);
  }
}

ub_ctx* RawContext(Engine engine, event_base* base,
                   const v1::ResolverConfig& r) {
  ub_ctx* ctx =
      engine == Engine::kEvent ? ub_ctx_create_event(base) : ub_ctx_create();
  if (engine == Engine::kAsyncThread) Check(ub_ctx_async(ctx, 1), "async");
  Check(ub_ctx_set_option(ctx, "do-ip6:", "no"), "do-ip6");
  Check(ub_ctx_set_option(
            ctx, "infra-cache-max-rtt:",
            absl::StrCat(r.infra_cache_max_rtt_ms()).c_str()),
        "infra-cache-max-rtt");
  Check(ub_ctx_set_option(ctx, "infra-host-ttl:", "10"), "infra-host-ttl");
  Check(ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"), "localhost");
  Check(ub_ctx_set_option(ctx, "root-hints:", r.root_hints_file().c_str()),
        "root-hints");
  Check(ub_ctx_add_ta_file(ctx, r.trust_anchor_file().c_str()), "ta");
  Check(ub_ctx_zone_remove(ctx, "test."), "zone_remove");
  return ctx;
}

struct RawState {
  Result* result = nullptr;
  Names* names = nullptr;
  ub_ctx* ctx = nullptr;
  Engine engine = Engine::kEvent;
  int outstanding = 0;
  bool stop = false;
  absl::Time end;
};

struct RawQuery {
  RawState* state;
  absl::Time start;
};

void RawDone(RawQuery* q, bool secure_with_data, const std::string& what) {
  RawState* s = q->state;
  s->result->latencies.push_back(absl::ToDoubleSeconds(absl::Now() - q->start));
  s->result->n++;
  if (!secure_with_data) {
    s->result->errors++;
    if (s->result->first_error.empty()) s->result->first_error = what;
  }
  s->outstanding--;
  delete q;
}

void OnRawEvent(void* mydata, int rcode, void*, int length, int sec,
                char* why_bogus, int) {
  RawDone(static_cast<RawQuery*>(mydata), rcode == 0 && sec == 2 && length > 0,
          absl::StrCat("raw: rcode ", rcode, " sec ", sec, " ",
                       why_bogus != nullptr ? why_bogus : ""));
}

void OnRawAsync(void* mydata, int err, ub_result* r) {
  RawDone(static_cast<RawQuery*>(mydata),
          err == 0 && r != nullptr && r->secure && r->havedata,
          absl::StrCat("raw: err ", err, " rcode ", r != nullptr ? r->rcode : -1,
                       " secure ", r != nullptr ? r->secure : -1, " ",
                       r != nullptr && r->why_bogus != nullptr ? r->why_bogus
                                                               : ""));
  ub_resolve_free(r);
}

bool RawSubmit(RawState* s) {
  std::string fqdn;
  if (!s->names->NextFqdn(&fqdn)) return false;
  std::string qname = "_validation-persist." + fqdn;
  auto* q = new RawQuery{s, absl::Now()};
  s->outstanding++;
  int err = s->engine == Engine::kEvent
                ? ub_resolve_event(s->ctx, qname.c_str(), 16, 1, q, &OnRawEvent,
                                   nullptr)
                : ub_resolve_async(s->ctx, qname.c_str(), 16, 1, q, &OnRawAsync,
                                   nullptr);
  Check(err, "resolve");
  return true;
}

Result RunRaw(Engine engine, ub_ctx* ctx, event_base* base, Names* names, int k,
              double seconds) {
  Result result;
  RawState s;
  s.result = &result;
  s.names = names;
  s.ctx = ctx;
  s.engine = engine;
  absl::Time start = absl::Now();
  s.end = start + absl::Seconds(seconds);
  double cpu0 = CpuSeconds();
  int fd = engine == Engine::kAsyncThread ? ub_fd(ctx) : -1;
  while (true) {
    long burst = 0;
    // Cache hits complete inside ub_resolve_event: refill until K are out.
    while (!s.stop && s.outstanding < k) {
      if ((++burst & 255) == 0 && absl::Now() >= s.end) s.stop = true;
      if (s.stop || !RawSubmit(&s)) {
        s.stop = true;
        break;
      }
    }
    if (!s.stop && absl::Now() >= s.end) s.stop = true;
    if (s.outstanding == 0) {
      if (s.stop) break;
      continue;
    }
    if (engine == Engine::kEvent) {
      event_base_loop(base, EVLOOP_ONCE);
    } else {
      fd_set set;
      FD_ZERO(&set);
      FD_SET(fd, &set);
      timeval tv{5, 0};
      select(fd + 1, &set, nullptr, nullptr, &tv);
      Check(ub_process(ctx), "process");
    }
  }
  result.wall = absl::ToDoubleSeconds(absl::Now() - start);
  result.cpu = CpuSeconds() - cpu0;
  return result;
}

// ---- the observer ----

struct ObserverRun {
  UnboundObserver* observer = nullptr;
  Names* names = nullptr;
  Result* result = nullptr;
  absl::Time end;
  std::atomic<int> chains{0};
  absl::Notification finished;

  void Next() {
    std::string fqdn;
    if (absl::Now() >= end || !names->NextFqdn(&fqdn)) {
      if (chains.fetch_sub(1) == 1) finished.Notify();
      return;
    }
    v1::ObserveRequest request;
    request.set_fqdn(fqdn);
    absl::Time start = absl::Now();
    observer->Observe(request, start + absl::Seconds(5),
                      [this, start](absl::StatusOr<v1::Observation> o) {
                        // On the observer's loop thread: one writer.
                        result->latencies.push_back(
                            absl::ToDoubleSeconds(absl::Now() - start));
                        result->n++;
                        if (!o.ok() ||
                            o->txt().lookup().dnssec_state() !=
                                v1::DNSSEC_STATE_SECURE ||
                            o->txt().records_size() == 0) {
                          result->errors++;
                          if (result->first_error.empty()) {
                            result->first_error =
                                o.ok() ? o->txt().lookup().ShortDebugString()
                                       : o.status().ToString();
                          }
                        }
                        Next();
                      });
  }
};

Result RunObserver(UnboundObserver* observer, Names* names, int k,
                   double seconds) {
  Result result;
  ObserverRun run;
  run.observer = observer;
  run.names = names;
  run.result = &result;
  absl::Time start = absl::Now();
  run.end = start + absl::Seconds(seconds);
  double cpu0 = CpuSeconds();
  run.chains = k;
  for (int i = 0; i < k; ++i) run.Next();
  run.finished.WaitForNotification();
  result.wall = absl::ToDoubleSeconds(absl::Now() - start);
  result.cpu = CpuSeconds() - cpu0;
  return result;
}

void Print(const char* engine, const char* workload, int k, const Result& raw,
           const Result& obs) {
  double ratio = raw.Rate() > 0 ? obs.Rate() / raw.Rate() : 0;
  std::printf(
      "%-6s %-5s %3d | %9.0f/s %8.1f %8.1f %6.1f | %9.0f/s %8.1f %8.1f %6.1f | "
      "%5.2f %s| err %ld/%ld\n",
      engine, workload, k, raw.Rate(), raw.Percentile(0.5) * 1e6,
      raw.Percentile(0.99) * 1e6, raw.n ? raw.cpu / raw.n * 1e6 : 0, obs.Rate(),
      obs.Percentile(0.5) * 1e6, obs.Percentile(0.99) * 1e6,
      obs.n ? obs.cpu / obs.n * 1e6 : 0, ratio, ratio >= 0.8 ? "ok " : "LOW",
      raw.errors, obs.errors);
  if (!raw.first_error.empty()) std::printf("  first raw error: %s\n", raw.first_error.c_str());
  if (!obs.first_error.empty()) std::printf("  first observer error: %s\n", obs.first_error.c_str());
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (absl::ConsumePrefix(&a, "--seconds=")) {
      if (!absl::SimpleAtod(a, &flags.seconds)) return 2;
    } else if (absl::ConsumePrefix(&a, "--rounds=")) {
      if (!absl::SimpleAtoi(a, &flags.rounds) || flags.rounds < 1) return 2;
    } else if (absl::ConsumePrefix(&a, "--leaf_names=")) {
      if (!absl::SimpleAtoi(a, &flags.leaf_names)) return 2;
    } else if (absl::ConsumePrefix(&a, "--k=")) {
      flags.ks.clear();
      for (absl::string_view k : absl::StrSplit(a, ',')) {
        int v;
        if (!absl::SimpleAtoi(k, &v) || v < 1) return 2;
        flags.ks.push_back(v);
      }
    } else if (absl::ConsumePrefix(&a, "--engines=")) {
      flags.engines.clear();
      for (absl::string_view e : absl::StrSplit(a, ',')) {
        if (e == "event") flags.engines.push_back(Engine::kEvent);
        else if (e == "async") flags.engines.push_back(Engine::kAsyncThread);
        else return 2;
      }
    } else {
      std::fprintf(stderr,
                   "usage: resolver_bench [--seconds=2] [--rounds=4] "
                   "[--k=1,16,64] [--engines=event,async] "
                   "[--leaf_names=100000]\n");
      return 2;
    }
  }
  if (absl::Status s = harness::EnterPrivateNetworkNamespace(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  dnstest::DnsFixture::Options fo;
  fo.leaf_names = flags.leaf_names;
  absl::Time t0 = absl::Now();
  absl::StatusOr<std::unique_ptr<dnstest::DnsFixture>> dns =
      dnstest::DnsFixture::Start(fo);
  if (!dns.ok()) {
    std::fprintf(stderr, "fixture: %s\n", dns.status().ToString().c_str());
    return 1;
  }
  std::printf("fixture up with %d leaf names in %s\n", flags.leaf_names,
              absl::FormatDuration(absl::Now() - t0).c_str());
  v1::ResolverConfig config = (*dns)->resolver_config();
  config.set_max_concurrent_lookups(100000);
  Names names(flags.leaf_names);
  std::printf(
      "engine work   K |       raw/s  p50(us)  p99(us) cpu/op |  observer/s  "
      "p50(us)  p99(us) cpu/op | ratio | errors raw/obs\n");
  for (Engine engine : flags.engines) {
    const char* engine_name = engine == Engine::kEvent ? "event" : "async";
    event_base* base = event_base_new();
    ub_ctx* ctx = RawContext(engine, base, config);
    UnboundObserver::Options oo;
    oo.perspective_id = "bench";
    oo.rir = v1::RIR_ARIN;
    oo.resolver = config;
    oo.engine = engine;
    absl::StatusOr<std::unique_ptr<UnboundObserver>> observer =
        UnboundObserver::Create(oo);
    if (!observer.ok()) {
      std::fprintf(stderr, "%s\n", observer.status().ToString().c_str());
      return 1;
    }
    for (bool leaf : {false, true}) {
      // Warm-up, not measured: the key chain down to example.test (and, in
      // leaf mode, leaf.test's keys) into both caches.
      names.SetLeaf(leaf);
      RunRaw(engine, ctx, base, &names, 1, 0.2);
      RunObserver(observer->get(), &names, 1, 0.2);
      for (int k : flags.ks) {
        Result raw, obs;
        double slice = flags.seconds / flags.rounds;
        for (int round = 0; round < flags.rounds; ++round) {
          raw.Add(RunRaw(engine, ctx, base, &names, k, slice));
          obs.Add(RunObserver(observer->get(), &names, k, slice));
        }
        Print(engine_name, leaf ? "leaf" : "warm", k, raw, obs);
      }
    }
    observer->reset();
    ub_ctx_delete(ctx);
    event_base_free(base);
  }
  std::printf("leaf names used: %d of %d\n", names.used(), flags.leaf_names);
  return 0;
}

}  // namespace
}  // namespace vantage::perspective

int main(int argc, char** argv) {
  return vantage::perspective::Main(argc, argv);
}
