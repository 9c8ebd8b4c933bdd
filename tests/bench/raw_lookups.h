// The DNS floor of the benchmarks: raw libunbound lookups with the API the
// observer uses (ub_ctx_create_event + ub_resolve_event in a libevent loop
// on the calling thread), configured like the observer, with nothing around
// them - no request validation, no hand-over, no answer parsing.
//
//   ASSIGN_OR_RETURN(auto raw, RawLookups::Create(fixture.resolver_config()));
//   Stats warm = raw->Run(16, 0.5, 3, nullptr, {});        // the same name
//   LeafNames leaf(100000);
//   Stats miss = raw->Run(16, 0.5, 3, &leaf, {knotd_pid});  // a new name each
//
// Or as a service for other threads (the fan-out floor's echo servers do
// what a perspective does, minus everything but the call and the lookup):
//   std::thread loop([&] { raw->Serve(); });
//   raw->Submit("t7.leaf.test", [](absl::Status s) { ... });  // any thread
//   raw->Shutdown(); loop.join();
//
// Workloads: warm = _validation-persist.example.test (or set_warm_fqdn) every
// time (a cache hit); leaf = a fresh _validation-persist.t<N>.leaf.test per lookup (the
// fixture's pre-populated signed leaf names): a real cache miss with the
// zone keys cached.
#ifndef VANTAGE_TESTS_BENCH_RAW_LOOKUPS_H_
#define VANTAGE_TESTS_BENCH_RAW_LOOKUPS_H_

#include <sys/types.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/config.pb.h"
#include "tests/bench/closed_loop.h"

struct event;
struct event_base;
struct ub_ctx;

namespace vantage::bench {

// LeafNames hands out the fixture's leaf names t<first>.leaf.test,
// t<first+1>.leaf.test, ... once each (one counter per resolver cache).
class LeafNames {
 public:
  explicit LeafNames(int count, int first = 0) : count_(count), next_(first) {}
  // Next returns the next never-used fqdn, or "" when they are used up.
  std::string Next();
  // used: names handed out so far (counting from 0).
  int used() const { return std::min(next_.load(), count_); }

 private:
  const int count_;
  std::atomic<int> next_;
};

class RawLookups {
 public:
  // Create sets up an event-engine libunbound context like the observer's
  // (trust anchor, root hints, loopback servers, unblocked local zones).
  static absl::StatusOr<std::unique_ptr<RawLookups>> Create(const v1::ResolverConfig& resolver);
  ~RawLookups();
  RawLookups(const RawLookups&) = delete;
  RawLookups& operator=(const RawLookups&) = delete;

  // Run keeps `concurrency` TXT lookups outstanding on this thread's event
  // loop for `warmup` + `seconds` seconds and measures the second part.
  // `leaf` null: the warm name; else a fresh leaf name per lookup. An
  // answer counts as an error unless it is NOERROR, DNSSEC secure and not
  // empty. `others`: processes whose CPU counts along (e.g. knotd).
  Stats Run(int concurrency, double warmup, double seconds, LeafNames* leaf,
            const std::vector<pid_t>& others);

  // Serve runs lookups handed over by Submit on the calling thread's event
  // loop until Shutdown. Not together with Run.
  absl::Status Serve();
  // LookupDone: OK for a NOERROR, DNSSEC-secure, non-empty answer.
  using LookupDone = std::function<void(absl::Status)>;
  // Submit (any thread) hands Serve's thread a TXT lookup of
  // _validation-persist.<fqdn>; `done` runs on that thread.
  void Submit(std::string fqdn, LookupDone done);
  // Shutdown makes Serve return once the lookups in flight have answered.
  void Shutdown();

  // set_warm_fqdn: the name of the warm workload (default example.test).
  void set_warm_fqdn(std::string fqdn) { warm_fqdn_ = std::move(fqdn); }

 private:
  struct Query;
  struct Served;
  RawLookups() = default;
  void Refill();
  static void OnAnswer(void* mydata, int rcode, void* packet, int length, int sec, char* why_bogus,
                       int was_ratelimited);
  static void OnServedAnswer(void* mydata, int rcode, void* packet, int length, int sec,
                             char* why_bogus, int was_ratelimited);
  static void OnWake(int fd, short what, void* arg);

  event_base* base_ = nullptr;
  ub_ctx* ctx_ = nullptr;
  Stats* stats_ = nullptr;
  LeafNames* leaf_ = nullptr;
  int concurrency_ = 1;
  int outstanding_ = 0;
  bool stop_ = false;
  bool measuring_ = false;
  std::string warm_fqdn_ = "example.test";

  // Serve's state: lookups in flight on the loop, and the hand-over.
  int served_outstanding_ = 0;
  int wake_[2] = {-1, -1};  // a pipe: Submit writes, the loop reads
  absl::Mutex mu_;
  std::vector<std::pair<std::string, LookupDone>> submitted_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace vantage::bench

#endif  // VANTAGE_TESTS_BENCH_RAW_LOOKUPS_H_
