#include "perspective/observe_request.h"

#include "absl/strings/str_cat.h"
#include "policy/identifier.h"

namespace vantage::perspective {

absl::Status ValidateObserveRequest(const v1::ObserveRequest& request) {
  if (request.fqdn().empty()) {
    return absl::InvalidArgumentError("fqdn: required (the domain to observe)");
  }
  if (absl::Status fqdn = policy::ValidateFqdn(request.fqdn()); !fqdn.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("fqdn: ", fqdn.message()));
  }
  if (request.kinds_size() > kMaxKinds) {
    return absl::InvalidArgumentError(
        absl::StrCat("kinds: at most ", kMaxKinds, " entries, got ", request.kinds_size()));
  }
  bool txt = request.kinds().empty();
  for (int i = 0; i < request.kinds_size(); ++i) {
    const int kind = request.kinds(i);
    switch (kind) {
      case v1::LOOKUP_KIND_TXT_PERSIST:
        txt = true;
        break;
      case v1::LOOKUP_KIND_CAA:
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "kinds[", i, "]: ", kind, " is not LOOKUP_KIND_TXT_PERSIST (1) or LOOKUP_KIND_CAA (2)"));
    }
  }
  // SPEC.md 1: the record lives at _validation-persist.<fqdn>; a name that
  // cannot exist in DNS is refused rather than looked up.
  const size_t owner_length = policy::kPersistLabel.size() + 1 + request.fqdn().size();
  if (txt && owner_length > policy::kMaxFqdnLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fqdn: ", request.fqdn().size(), " octets is too long for TXT_PERSIST: ",
        policy::kPersistLabel, ".<fqdn> would be ", owner_length, " octets, more than ",
        policy::kMaxFqdnLength, " (RFC 1035 section 2.3.4)"));
  }
  if (request.request_id().size() > kMaxRequestIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("request_id: at most ", kMaxRequestIdLength,
                                                   " octets, got ", request.request_id().size()));
  }
  for (size_t i = 0; i < request.request_id().size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(request.request_id()[i]);
    if (c < 0x20 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          "request_id: printable ASCII only, octet ", i, " is 0x", absl::Hex(c, absl::kZeroPad2)));
    }
  }
  return absl::OkStatus();
}

std::vector<v1::LookupKind> RequestedKinds(const v1::ObserveRequest& request) {
  bool txt = request.kinds().empty();
  bool caa = false;
  for (int kind : request.kinds()) {
    if (kind == v1::LOOKUP_KIND_TXT_PERSIST) txt = true;
    if (kind == v1::LOOKUP_KIND_CAA) caa = true;
  }
  std::vector<v1::LookupKind> kinds;
  if (txt) kinds.push_back(v1::LOOKUP_KIND_TXT_PERSIST);
  if (caa) kinds.push_back(v1::LOOKUP_KIND_CAA);
  return kinds;
}

}  // namespace vantage::perspective
