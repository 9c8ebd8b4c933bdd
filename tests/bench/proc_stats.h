// Process accounting for benchmarks: CPU time and context switches of this
// process and of other processes on the machine (read from /proc), and the
// machine's load average.
//
//   const ProcessSample before = SampleProcesses({server_pid});
//   ... run ...
//   const ProcessSample used = SampleProcesses({server_pid}) - before;
//   // used.cpu seconds and used.switches of this process + the server
#ifndef VANTAGE_TESTS_BENCH_PROC_STATS_H_
#define VANTAGE_TESTS_BENCH_PROC_STATS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace vantage::bench {

// CpuSelf: user+system CPU seconds of this process (every thread).
double CpuSelf();

// CpuOf: user+system CPU seconds of process `pid` (every thread), from
// /proc/<pid>/stat; 0 if the process is gone or unreadable.
double CpuOf(pid_t pid);

// ContextSwitches: voluntary + involuntary context switches of every thread
// of a process (0 = this process).
long ContextSwitches(pid_t pid);

// ProcessSample: cumulative counters of this process plus `others`.
struct ProcessSample {
  double cpu = 0;     // seconds
  long switches = 0;  // context switches
  // CPU seconds of each process: this one first, then `others` in order.
  std::vector<double> cpu_each;
  ProcessSample operator-(const ProcessSample& earlier) const;
};
ProcessSample SampleProcesses(const std::vector<pid_t>& others);

// LoadAverage: the first three fields of /proc/loadavg ("0.12 0.30 0.41").
std::string LoadAverage();
// LoadAverage1: the 1-minute load average (-1 if unreadable).
double LoadAverage1();

}  // namespace vantage::bench

#endif  // VANTAGE_TESTS_BENCH_PROC_STATS_H_
