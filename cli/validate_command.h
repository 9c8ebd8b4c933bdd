// `vantagectl validate`: ask a running vantage-va, as the RA does, whether an
// account may have certificates for a domain (ValidatePersist over mTLS).
#ifndef VANTAGE_CLI_VALIDATE_COMMAND_H_
#define VANTAGE_CLI_VALIDATE_COMMAND_H_

#include "cli/command.h"

namespace vantage::cli {

// ValidateCommand is the `validate` entry of vantagectl's command table.
const Command& ValidateCommand();

}  // namespace vantage::cli

#endif  // VANTAGE_CLI_VALIDATE_COMMAND_H_
