#include "tests/bench/closed_loop.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/bench/proc_stats.h"

namespace vantage::bench {

double Stats::Percentile(double p) const {
  if (latencies.empty()) return 0;
  std::vector<double> v = latencies;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(static_cast<double>(v.size()) * p));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

Stats ClosedLoop::Run(int concurrency, double warmup, double seconds, const StartOp& start,
                      const std::vector<pid_t>& others) {
  phase_ = 0;
  live_ = concurrency;
  exhausted_ = false;
  {
    absl::MutexLock lock(&mu_);
    unmeasured_errors_ = 0;
    error_samples_.clear();
  }
  slots_.assign(concurrency, Slot());
  for (Slot& s : slots_) s.latencies.reserve(1 << 16);
  for (int i = 0; i < concurrency; ++i) Launch(i, start);
  // A benchmark measures fixed wall-clock windows: these sleeps ARE the
  // measurement, not a wait for some condition.
  absl::SleepFor(absl::Seconds(warmup));
  const ProcessSample before = SampleProcesses(others);
  const absl::Time t0 = absl::Now();
  phase_ = 1;
  absl::SleepFor(absl::Seconds(seconds));
  phase_ = 2;
  const absl::Time t1 = absl::Now();
  const ProcessSample used = SampleProcesses(others) - before;
  while (live_.load() > 0) absl::SleepFor(absl::Milliseconds(1));  // draining the chains
  Stats stats;
  stats.wall = absl::ToDoubleSeconds(t1 - t0);
  stats.cpu = used.cpu;
  stats.switches = used.switches;
  stats.cpu_each = used.cpu_each;
  stats.exhausted = exhausted_.load();
  for (Slot& s : slots_) {
    stats.n += static_cast<long>(s.latencies.size());
    stats.errors += s.errors;
    stats.latencies.insert(stats.latencies.end(), s.latencies.begin(), s.latencies.end());
  }
  absl::MutexLock lock(&mu_);
  stats.unmeasured_errors = unmeasured_errors_;
  stats.error_samples = std::move(error_samples_);
  error_samples_.clear();
  return stats;
}

void ClosedLoop::NoteError(const absl::Status& status, bool measured) {
  absl::MutexLock lock(&mu_);
  if (!measured) ++unmeasured_errors_;
  const std::string message = status.ToString();
  auto it = error_samples_.find(message);
  if (it != error_samples_.end()) {
    ++it->second;
  } else if (error_samples_.size() < Stats::kMaxErrorSamples) {
    error_samples_.emplace(message, 1);
  }
}

void ClosedLoop::Launch(int slot, const StartOp& start) {
  const absl::Time t0 = absl::Now();
  const bool started = start([this, slot, t0, &start](absl::Status status) {
    Slot& s = slots_[slot];
    const bool measured = phase_.load(std::memory_order_relaxed) == 1;
    if (measured) {
      s.latencies.push_back(absl::ToDoubleSeconds(absl::Now() - t0));
      if (!status.ok()) ++s.errors;
    }
    if (!status.ok()) NoteError(status, measured);
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

const Stats& Median(const std::vector<Stats>& runs) {
  std::vector<const Stats*> sorted;
  for (const Stats& s : runs) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(),
            [](const Stats* a, const Stats* b) { return a->Rate() < b->Rate(); });
  return *sorted[sorted.size() / 2];
}

void PrintHeader(int label_width) {
  std::printf("%-*s %5s %10s %10s %10s %10s %8s %7s\n", label_width, "workload", "C", "rate/s",
              "p50 us", "p99 us", "cpu/op us", "cs/op", "errors");
  std::fflush(stdout);
}

void PrintRow(absl::string_view label, int concurrency, const Stats& s, int label_width) {
  std::printf("%-*s %5d %10.0f %10.0f %10.0f %10.1f %8.2f %7ld%s\n", label_width,
              std::string(label).c_str(), concurrency, s.Rate(), s.Percentile(0.50) * 1e6,
              s.Percentile(0.99) * 1e6, s.CpuPerOp() * 1e6, s.SwitchesPerOp(), s.errors,
              s.exhausted ? "  (ran out of leaf names: raise --leaf_names)" : "");
  std::fflush(stdout);
}

}  // namespace vantage::bench
