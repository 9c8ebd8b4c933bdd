// `vantagectl check`: the offline verdict of policy/ on given TXT records.
#ifndef VANTAGE_CLI_CHECK_COMMAND_H_
#define VANTAGE_CLI_CHECK_COMMAND_H_

#include "cli/command.h"

namespace vantage::cli {

const Command& CheckCommand();

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_CHECK_COMMAND_H_
