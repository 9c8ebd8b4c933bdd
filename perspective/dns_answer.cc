#include "perspective/dns_answer.h"

// <stdbool.h> first: otherwise ldns/common.h #defines bool/true/false,
// which breaks C++ headers included after it.
#include <stdbool.h>
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace vantage::perspective {
namespace {

// RAII for the ldns objects (STYLE.md: one owner per C handle).
struct RrDeleter {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RrPtr = std::unique_ptr<ldns_rr, RrDeleter>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfDeleter>;

std::string RdfName(const ldns_rdf* rdf) {
  return DnameToString(ldns_rdf_data(rdf), ldns_rdf_size(rdf));
}

// Rewrites `name` for a DNAME at `owner` (a proper ancestor) pointing at
// `target` (RFC 6672 section 2.2): the labels of `name` above `owner`,
// followed by `target`. nullptr when the result would exceed 255 octets.
RdfPtr SubstituteDname(const ldns_rdf* name, const ldns_rdf* owner,
                       const ldns_rdf* target) {
  size_t prefix = ldns_rdf_size(name) - ldns_rdf_size(owner);
  size_t size = prefix + ldns_rdf_size(target);
  if (size > LDNS_MAX_DOMAINLEN) return nullptr;
  std::vector<uint8_t> data(ldns_rdf_data(name), ldns_rdf_data(name) + prefix);
  data.insert(data.end(), ldns_rdf_data(target),
              ldns_rdf_data(target) + ldns_rdf_size(target));
  return RdfPtr(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, data.size(),
                                      data.data()));
}

}  // namespace

std::string DnameToString(const uint8_t* wire, size_t length) {
  std::string out;
  size_t pos = 0;
  while (pos < length) {
    size_t label = wire[pos++];
    if (label == 0) return out;
    if (label > 63 || pos + label > length) return "";
    if (!out.empty()) out += '.';
    for (size_t i = 0; i < label; ++i) {
      unsigned char c = wire[pos + i];
      if (absl::ascii_isalnum(c) || c == '-' || c == '_') {
        out += absl::ascii_tolower(c);
      } else {
        absl::StrAppendFormat(&out, "\\%03d", c);
      }
    }
    pos += label;
  }
  return "";  // no root label
}

absl::StatusOr<DnsAnswer> ParseDnsAnswer(absl::string_view qname,
                                         uint16_t qtype, const uint8_t* packet,
                                         size_t length) {
  // Only the question and the answer section matter here; ldns reads them
  // RR by RR (ldns_wire2rr), the authority and additional sections (NSEC,
  // SOA, OPT) are not parsed at all.
  if (packet == nullptr || length < LDNS_HEADER_SIZE) {
    return absl::InvalidArgumentError("unparseable DNS answer: too short");
  }
  if (LDNS_QDCOUNT(packet) != 1) {
    return absl::InvalidArgumentError("DNS answer without exactly one question");
  }
  size_t pos = LDNS_HEADER_SIZE;
  ldns_rr* raw = nullptr;
  ldns_status status =
      ldns_wire2rr(&raw, packet, length, &pos, LDNS_SECTION_QUESTION);
  RrPtr question(raw);
  if (status != LDNS_STATUS_OK) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unparseable DNS answer: ", ldns_get_errorstr_by_id(status)));
  }
  const ldns_rdf* qowner = ldns_rr_owner(question.get());
  if (ldns_rr_get_type(question.get()) != qtype ||
      !absl::EqualsIgnoreCase(RdfName(qowner), qname)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "DNS answer is for ", RdfName(qowner), " type ",
        ldns_rr_get_type(question.get()), ", not the question asked"));
  }
  std::vector<RrPtr> rrs;
  const size_t count = LDNS_ANCOUNT(packet);
  rrs.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    raw = nullptr;
    status = ldns_wire2rr(&raw, packet, length, &pos, LDNS_SECTION_ANSWER);
    RrPtr rr(raw);
    if (status != LDNS_STATUS_OK) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unparseable DNS answer: ", ldns_get_errorstr_by_id(status)));
    }
    rrs.push_back(std::move(rr));
  }

  DnsAnswer answer;
  // Follow the alias chain from the question name. `current` points into
  // the parsed RRs or into `synthesized` (DNAME rewrites).
  const ldns_rdf* current = qowner;
  std::vector<RdfPtr> synthesized;
  for (int hop = 0; hop < kMaxAliasHops; ++hop) {
    const ldns_rdf* next = nullptr;
    for (size_t i = 0; i < count && next == nullptr; ++i) {
      const ldns_rr* rr = rrs[i].get();
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
          ldns_rr_rd_count(rr) == 1 &&
          ldns_dname_compare(ldns_rr_owner(rr), current) == 0) {
        next = ldns_rr_rdf(rr, 0);
      }
    }
    // A DNAME without the CNAME a server synthesizes from it (RFC 6672
    // section 3.1): rewrite the name ourselves.
    for (size_t i = 0; i < count && next == nullptr; ++i) {
      const ldns_rr* rr = rrs[i].get();
      if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME &&
          ldns_rr_rd_count(rr) == 1 &&
          ldns_dname_compare(ldns_rr_owner(rr), current) != 0 &&
          ldns_dname_is_subdomain(current, ldns_rr_owner(rr))) {
        RdfPtr rewritten =
            SubstituteDname(current, ldns_rr_owner(rr), ldns_rr_rdf(rr, 0));
        if (rewritten == nullptr) break;
        synthesized.push_back(std::move(rewritten));
        next = synthesized.back().get();
      }
    }
    if (next == nullptr) break;
    answer.cname_chain.push_back(RdfName(current));
    current = next;
  }
  // Without aliases the canonical name is the question (already checked).
  answer.canonical_name = answer.cname_chain.empty()
                              ? absl::AsciiStrToLower(qname)
                              : RdfName(current);

  // The RRset: only records of the asked type owned by the canonical name.
  bool first = true;
  for (size_t i = 0; i < count; ++i) {
    const ldns_rr* rr = rrs[i].get();
    if (ldns_rr_get_type(rr) != qtype ||
        ldns_dname_compare(ldns_rr_owner(rr), current) != 0) {
      continue;
    }
    answer.ttl = first ? ldns_rr_ttl(rr) : std::min(answer.ttl, ldns_rr_ttl(rr));
    first = false;
    if (qtype == kTypeTxt) {
      v1::TxtRecord& record = answer.txt.emplace_back();
      // Each rdf of a TXT RR is one <character-string>: a length octet and
      // that many bytes, kept as they are.
      for (size_t f = 0; f < ldns_rr_rd_count(rr); ++f) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, f);
        const uint8_t* d = ldns_rdf_data(rdf);
        size_t size = ldns_rdf_size(rdf);
        if (size == 0 || d[0] + 1u != size) {
          return absl::InvalidArgumentError("malformed TXT character-string");
        }
        record.add_strings(reinterpret_cast<const char*>(d + 1), d[0]);
      }
    } else if (qtype == kTypeCaa) {
      // RFC 8659 section 4.1: flags octet, tag (length-prefixed), value
      // (the rest). ldns: INT8, TAG (with its length octet), LONG_STR - the
      // last one absent when the value is empty.
      size_t fields = ldns_rr_rd_count(rr);
      if (fields != 2 && fields != 3) {
        return absl::InvalidArgumentError("malformed CAA record");
      }
      const ldns_rdf* flags = ldns_rr_rdf(rr, 0);
      const ldns_rdf* tag = ldns_rr_rdf(rr, 1);
      const ldns_rdf* value = fields == 3 ? ldns_rr_rdf(rr, 2) : nullptr;
      if (ldns_rdf_size(flags) != 1 || ldns_rdf_size(tag) < 1 ||
          ldns_rdf_data(tag)[0] + 1u != ldns_rdf_size(tag)) {
        return absl::InvalidArgumentError("malformed CAA record");
      }
      v1::CaaRecord& record = answer.caa.emplace_back();
      record.set_flags(ldns_rdf_data(flags)[0]);
      record.set_tag(reinterpret_cast<const char*>(ldns_rdf_data(tag) + 1),
                     ldns_rdf_data(tag)[0]);
      if (value != nullptr) {
        record.set_value(reinterpret_cast<const char*>(ldns_rdf_data(value)),
                         ldns_rdf_size(value));
      }
    }
  }
  return answer;
}

}  // namespace vantage::perspective
