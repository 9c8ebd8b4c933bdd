// vantagectl: the Vantage command-line tool. Each subcommand lives in
// cli/<name>_command.{h,cc}; this file only dispatches.
#include <iostream>
#include <string>
#include <vector>

#include "cli/accounts_command.h"
#include "cli/check_command.h"
#include "cli/command.h"
#include "cli/observe_command.h"
#include "cli/record_command.h"
#include "cli/validate_command.h"

namespace vantage::cli {
namespace {

// The subcommands, in the order `vantagectl help` lists them. Add one line
// per new subcommand.
const Command& (*const kCommands[])() = {
    &CheckCommand,
    &RecordCommand,
    &AccountsCommand,
    &ObserveCommand,
    &ValidateCommand,
};

void PrintUsage(std::ostream& os) {
  os << "usage: vantagectl <command> [options]\n\ncommands:\n";
  for (const auto& command : kCommands) {
    os << "  " << command().name
       << std::string(10 - std::min<size_t>(9, command().name.size()), ' ') << command().summary
       << "\n";
  }
  os << "  help      print this help, or `vantagectl help <command>`\n";
  for (const auto& command : kCommands) os << "\n" << command().usage;
}

const Command* Find(const std::string& name) {
  for (const auto& command : kCommands) {
    if (command().name == name) return &command();
  }
  return nullptr;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return kExitUsage;
  }
  const std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    if (argc >= 3) {
      const Command* c = Find(argv[2]);
      if (c == nullptr) {
        std::cerr << "vantagectl: unknown command '" << argv[2] << "'\n";
        return kExitUsage;
      }
      std::cout << c->usage;
      return kExitOk;
    }
    PrintUsage(std::cout);
    return kExitOk;
  }
  const Command* c = Find(name);
  if (c == nullptr) {
    std::cerr << "vantagectl: unknown command '" << name << "' (try 'vantagectl help')\n";
    return kExitUsage;
  }
  return c->run(std::vector<std::string>(argv + 2, argv + argc), std::cout, std::cerr);
}

}  // namespace
}  // namespace vantage::cli

int main(int argc, char** argv) { return vantage::cli::Main(argc, argv); }
