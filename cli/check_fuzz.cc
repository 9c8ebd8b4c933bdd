// Fuzz target: `vantagectl check` end to end in-process (option parser,
// presentation reader, identifier, verdict, JSON output). The input is the
// argument list, arguments separated by NUL. Aborts when the command breaks
// its contract: exit 0/1 with one valid JSON object on stdout, or exit 2
// with nothing on stdout and a message on stderr.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/check_command.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> args;
  if (!input.empty()) args = absl::StrSplit(input, '\0');
  std::ostringstream out, err;
  const int rc = vantage::cli::CheckCommand().run(args, out, err);
  switch (rc) {
    case 0:
    case 1: {
      google::protobuf::Struct json;
      if (!google::protobuf::util::JsonStringToMessage(out.str(), &json).ok()) abort();
      auto it = json.fields().find("outcome");
      if (it == json.fields().end()) abort();
      const std::string& outcome = it->second.string_value();
      if ((rc == 0) != (outcome == "valid")) abort();
      break;
    }
    case 2:
      if (!out.str().empty() || err.str().empty()) abort();
      break;
    default:
      abort();
  }
  return 0;
}
