#include "cli/command.h"

namespace vantage::cli {

int UsageError(const Command& command, absl::string_view message, std::ostream& err) {
  err << "vantagectl " << command.name << ": " << message << "\n"
      << "Run 'vantagectl help " << command.name << "' for usage.\n";
  return kExitUsage;
}

}  // namespace vantage::cli
