// ClosedLoop: the benchmarks' load generator. C operations are kept in
// flight; each answer is immediately replaced by a new operation (a closed
// loop, so the rate is what the system under test sustains at concurrency C,
// and latency is measured without queueing in the generator). Operations are
// asynchronous (gRPC callback API), so C does not mean C threads.
//
//   ClosedLoop loop;
//   Stats s = loop.Run(16, /*warmup=*/0.5, /*seconds=*/3, [&](ClosedLoop::Done done) {
//     StartMyCall(..., [done = std::move(done)](bool ok) {
//       done(ok ? absl::OkStatus() : absl::InternalError("not valid"));
//     });
//     return true;
//   }, {server_pid});
//   PrintHeader(); PrintRow("my call", 16, s);
//
// Stats also carries the CPU time and context switches of this process and
// of the listed other processes during the measured window, per operation.
#ifndef VANTAGE_TESTS_BENCH_CLOSED_LOOP_H_
#define VANTAGE_TESTS_BENCH_CLOSED_LOOP_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace vantage::bench {

// Stats: one measured run.
struct Stats {
  long n = 0;          // operations completed in the measured window
  long errors = 0;     // of which failed
  long unmeasured_errors = 0;  // failures during warm-up and drain
  double wall = 0;     // seconds
  double cpu = 0;      // seconds, this process + the listed others
  long switches = 0;   // context switches, same processes
  std::vector<double> cpu_each;  // seconds: this process, then the others
  bool exhausted = false;  // the operation source ran dry (leaf names)
  std::vector<double> latencies;  // seconds, one per measured operation
  // Distinct failure messages (at most kMaxErrorSamples) and their counts,
  // from every phase.
  std::map<std::string, long> error_samples;
  static constexpr size_t kMaxErrorSamples = 10;

  double Rate() const { return wall > 0 ? n / wall : 0; }
  // Percentile: p in [0, 1]; 0 without samples.
  double Percentile(double p) const;
  double CpuPerOp() const { return n > 0 ? cpu / static_cast<double>(n) : 0; }
  double SwitchesPerOp() const {
    return n > 0 ? static_cast<double>(switches) / static_cast<double>(n) : 0;
  }
};

class ClosedLoop {
 public:
  // Done: called once per operation, on any thread, with its result.
  using Done = std::function<void(absl::Status)>;
  // StartOp starts one operation that calls `done` once it completes.
  // Returns false when it cannot start one (e.g. leaf names used up).
  using StartOp = std::function<bool(Done done)>;

  // Run keeps `concurrency` operations in flight for `warmup` + `seconds`
  // seconds, measures the second part, then waits for the operations still
  // in flight. `others` are processes whose CPU time and context switches
  // count along with this process's.
  Stats Run(int concurrency, double warmup, double seconds, const StartOp& start,
            const std::vector<pid_t>& others);

 private:
  struct Slot {
    std::vector<double> latencies;
    long errors = 0;
  };

  void Launch(int slot, const StartOp& start);
  void NoteError(const absl::Status& status, bool measured);

  std::atomic<int> phase_{0};  // 0 warm-up, 1 measuring, 2 draining
  std::atomic<int> live_{0};
  std::atomic<bool> exhausted_{false};
  std::vector<Slot> slots_;
  absl::Mutex mu_;
  long unmeasured_errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, long> error_samples_ ABSL_GUARDED_BY(mu_);
};

// Median returns the run with the median rate (runs must not be empty).
const Stats& Median(const std::vector<Stats>& runs);

// PrintHeader / PrintRow: the benchmarks' table of runs ("workload C rate/s
// p50 us p99 us cpu/op us cs/op errors"), flushed at once.
void PrintHeader(int label_width = 22);
void PrintRow(absl::string_view label, int concurrency, const Stats& s, int label_width = 22);

}  // namespace vantage::bench

#endif  // VANTAGE_TESTS_BENCH_CLOSED_LOOP_H_
