#include "tests/bench/proc_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vantage::bench {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using DirPtr = std::unique_ptr<DIR, int (*)(DIR*)>;

}  // namespace

double CpuSelf() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

double CpuOf(pid_t pid) {
  if (pid <= 0) return 0;
  const std::string s = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
  // Fields after the command name "(...)", which may itself hold spaces:
  // field 3 is the state; 14 and 15 are utime and stime (proc(5)).
  const size_t close = s.rfind(')');
  if (close == std::string::npos || close + 2 > s.size()) return 0;
  std::istringstream fields(s.substr(close + 2));
  std::string f;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) (void)absl::SimpleAtoi(f, &utime);
    if (i == 15) (void)absl::SimpleAtoi(f, &stime);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long ContextSwitches(pid_t pid) {
  const std::string dir = pid > 0 ? absl::StrCat("/proc/", pid, "/task") : "/proc/self/task";
  long total = 0;
  DirPtr tasks(opendir(dir.c_str()), &closedir);
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

ProcessSample ProcessSample::operator-(const ProcessSample& earlier) const {
  ProcessSample d;
  d.cpu = cpu - earlier.cpu;
  d.switches = switches - earlier.switches;
  d.cpu_each = cpu_each;
  for (size_t i = 0; i < d.cpu_each.size() && i < earlier.cpu_each.size(); ++i) {
    d.cpu_each[i] -= earlier.cpu_each[i];
  }
  return d;
}

ProcessSample SampleProcesses(const std::vector<pid_t>& others) {
  ProcessSample s;
  s.cpu_each.push_back(CpuSelf());
  s.switches = ContextSwitches(0);
  for (pid_t pid : others) {
    s.cpu_each.push_back(CpuOf(pid));
    s.switches += ContextSwitches(pid);
  }
  for (double c : s.cpu_each) s.cpu += c;
  return s;
}

std::string LoadAverage() {
  const std::vector<std::string> fields =
      absl::StrSplit(ReadAll("/proc/loadavg"), ' ', absl::SkipEmpty());
  if (fields.size() < 3) return "?";
  return absl::StrCat(fields[0], " ", fields[1], " ", fields[2]);
}

double LoadAverage1() {
  const std::vector<std::string> fields =
      absl::StrSplit(ReadAll("/proc/loadavg"), ' ', absl::SkipEmpty());
  double v = -1;
  if (fields.empty() || !absl::SimpleAtod(fields[0], &v)) return -1;
  return v;
}

}  // namespace vantage::bench
