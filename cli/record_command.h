// `vantagectl record`: the TXT record a subscriber must publish.
#ifndef VANTAGE_CLI_RECORD_COMMAND_H_
#define VANTAGE_CLI_RECORD_COMMAND_H_

#include "cli/command.h"

namespace vantage::cli {

const Command& RecordCommand();

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_RECORD_COMMAND_H_
