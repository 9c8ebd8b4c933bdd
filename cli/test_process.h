// TestProcess: run a binary with arguments and capture its output (tests
// only). No shell: arguments are passed as they are, any bytes but NUL.
#ifndef VANTAGE_CLI_TEST_PROCESS_H_
#define VANTAGE_CLI_TEST_PROCESS_H_

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace vantage::cli {

struct ProcessResult {
  // Exit status, or -1 when the process did not exit normally (signal,
  // spawn failure, deadline).
  int exit_code = -1;
  std::string out;
  std::string err;
};

// RunProcess runs `path args...` and waits for it, killing it after
// `timeout` (reported as exit_code -1 and a note in `err`).
ProcessResult RunProcess(const std::string& path, const std::vector<std::string>& args,
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_TEST_PROCESS_H_
