// `vantagectl accounts`: manage the account store the VA reads (DESIGN.md
// "Account store"). The usage text (AccountsCommand().usage) lists the
// actions and options.
//
// --accounts has no default: a default file would let a typo silently manage
// a store the VA never reads. Only `add` creates a missing SQLite file.
#ifndef VANTAGE_CLI_ACCOUNTS_COMMAND_H_
#define VANTAGE_CLI_ACCOUNTS_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "common/clock.h"

namespace vantage::cli {

// AccountsCommand is the `accounts` entry of vantagectl's command table; it
// dates new keys with the real clock.
const Command& AccountsCommand();

// RunAccountsCommand runs `vantagectl accounts ACTION --name=VALUE...`
// (`args` are the arguments after "accounts") with `clock` dating new keys.
// Returns kExitOk; kExitFailed when the store refuses or fails (unknown
// account, key already used, database unreachable...: the message names the
// problem); kExitUsage for a bad command line, including an unreadable or
// invalid key file (the message names the option).
int RunAccountsCommand(const std::vector<std::string>& args, const common::Clock& clock,
                       std::ostream& out, std::ostream& err);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_ACCOUNTS_COMMAND_H_
