// Command: one `vantagectl` subcommand. To add one, write
// cli/<name>_command.{h,cc} exposing `const Command& <Name>Command();`, add a
// cc_library to cli/BUILD.bazel, and one line to the table in vantagectl.cc.
#ifndef VANTAGE_CLI_COMMAND_H_
#define VANTAGE_CLI_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace vantage::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
// kExitFailed: the command ran and the answer is negative (e.g. `check`: not
// valid) or an operation failed.
inline constexpr int kExitFailed = 1;
// kExitUsage: bad command line; the message names the option.
inline constexpr int kExitUsage = 2;

struct Command {
  // The word after `vantagectl`.
  absl::string_view name;
  // One line for the command list.
  absl::string_view summary;
  // The full usage text (synopsis, options, output, exit codes).
  absl::string_view usage;
  // Run receives the arguments after the subcommand name. It writes results
  // to `out` and diagnostics to `err`, and returns the exit code.
  int (*run)(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
};

// UsageError prints "vantagectl <name>: <message>" and a hint to `err` and
// returns kExitUsage.
int UsageError(const Command& command, absl::string_view message, std::ostream& err);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_COMMAND_H_
