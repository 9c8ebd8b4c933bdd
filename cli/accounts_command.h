// `vantagectl accounts`: manage the account store the VA reads (DESIGN.md
// "Account store").
//
//   vantagectl accounts add        --accounts=LOCATION --account-url=URL (--jwk=FILE | --public-key=PEM_FILE)
//   vantagectl accounts rotate-key --accounts=LOCATION --account-url=URL (--jwk=FILE | --public-key=PEM_FILE)
//   vantagectl accounts deactivate --accounts=LOCATION --account-url=URL
//   vantagectl accounts show       --accounts=LOCATION --account-url=URL
//
// LOCATION is what OpenAccountStore takes: sqlite:PATH, a file path, or a
// postgresql:// URI. It has no default: a default file would let a typo
// silently manage a store the VA never reads. Only `add` creates a missing
// SQLite file.
#ifndef VANTAGE_CLI_ACCOUNTS_COMMAND_H_
#define VANTAGE_CLI_ACCOUNTS_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "common/clock.h"

namespace vantage::cli {

// kAccountsUsage is the help text (`vantagectl accounts --help`).
extern const char kAccountsUsage[];

// RunAccountsCommand runs `vantagectl accounts ARGS...`; `args` are the
// arguments after "accounts" (the action first). Options are `--name=value`
// or `--name value`. Results go to `out`, errors to `err`. `clock` dates new
// keys. Returns the process exit code:
//   0  done (`show` prints the account as JSON);
//   1  the store refused or failed (unknown account, key already used,
//      database unreachable...): the message names the problem;
//   2  usage error, including an unreadable or invalid key file: the message
//      names the option.
int RunAccountsCommand(const std::vector<std::string>& args,
                       const common::Clock& clock, std::ostream& out,
                       std::ostream& err);

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_ACCOUNTS_COMMAND_H_
