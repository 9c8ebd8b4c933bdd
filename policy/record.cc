#include "policy/record.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "policy/jwk.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::Quote;

// SPEC.md 2: "whitespace is only SP and HTAB".
bool IsSpTab(char c) { return c == ' ' || c == '\t'; }

inline absl::string_view TrimSpTab(absl::string_view s) {
  while (!s.empty() && IsSpTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpTab(s.back())) s.remove_suffix(1);
  return s;
}

// Find is s.find(c) through memchr (inline; the parser calls it per segment).
inline size_t Find(absl::string_view s, char c) {
  if (s.empty()) return absl::string_view::npos;
  const void* p = memchr(s.data(), c, s.size());
  return p == nullptr ? absl::string_view::npos
                      : static_cast<size_t>(static_cast<const char*>(p) - s.data());
}

inline uint64_t Load64(const void* p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

// IsValueByte: RFC 8659 section 4.2's value = *(%x21-3A / %x3C-7E).
inline bool IsValueByte(char c) {
  return static_cast<unsigned char>(c - 0x21) <= 0x7E - 0x21 && c != ';';
}

// AnyValueStop16: whether one of the 16 bytes at `s` is not IsValueByte.
// Branch-free over a fixed count, so that compilers vectorize it (SSE2 at
// -O2 with GCC 12).
inline bool AnyValueStop16(const char* s) {
  unsigned char stop = 0;
  for (size_t i = 0; i < 16; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    stop |= static_cast<unsigned char>(static_cast<unsigned char>(c - 0x21) > 0x7E - 0x21) |
            static_cast<unsigned char>(c == ';');
  }
  return stop != 0;
}

// ValueEnd scans a parameter value from `from`: the position of the first
// byte that is not IsValueByte (';' included), or value.size(). One pass
// finds both the segment's end and a bad byte; 16 bytes at a time.
size_t ValueEnd(absl::string_view value, size_t from) {
  size_t i = from;
  for (; i + 16 <= value.size(); i += 16) {
    if (AnyValueStop16(value.data() + i)) {
      while (IsValueByte(value[i])) ++i;  // the stop is in this block
      return i;
    }
  }
  // The tail: a clean last block (overlapping checked bytes) ends the value.
  if (i < value.size() && value.size() - from >= 16 &&
      !AnyValueStop16(value.data() + value.size() - 16)) {
    return value.size();
  }
  while (i < value.size() && IsValueByte(value[i])) ++i;
  return i;
}

inline uint32_t Load32(const void* p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

// BytesEqual is memcmp(a, b, n) == 0 for short strings, inline: whole
// words, the last one overlapping (no call, no byte loop).
inline bool BytesEqual(const char* a, const char* b, size_t n) {
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if (Load64(a + i) != Load64(b + i)) return false;
    }
    return Load64(a + n - 8) == Load64(b + n - 8);
  }
  if (n >= 4) return Load32(a) == Load32(b) && Load32(a + n - 4) == Load32(b + n - 4);
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

inline bool BytesEqual(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && BytesEqual(a.data(), b.data(), a.size());
}

// AsciiCaseEquals compares `s` with a LOWERCASE string, folding A-Z in `s`
// only (our issuers are normalized; the record's side is folded).
inline bool AsciiCaseEquals(absl::string_view s, absl::string_view lower) {
  if (s.size() != lower.size()) return false;
  if (BytesEqual(s.data(), lower.data(), s.size())) return true;  // already lowercase
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// LettersCaseEquals is AsciiCaseEquals for a `lower` made of the letters
// a-z only (the known tags, "wildcard"): then `c | 0x20` equals a lowercase
// letter exactly when c is that letter in either case, so whole words are
// compared at once.
inline bool LettersCaseEquals(absl::string_view s, absl::string_view lower) {
  constexpr uint64_t kCase64 = 0x2020202020202020ULL;
  constexpr uint32_t kCase32 = 0x20202020U;
  const size_t n = s.size();
  if (n != lower.size()) return false;
  const char* a = s.data();
  const char* b = lower.data();
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) {
      if ((Load64(a + i) | kCase64) != Load64(b + i)) return false;
    }
    return (Load64(a + n - 8) | kCase64) == Load64(b + n - 8);
  }
  if (n >= 4) {
    return (Load32(a) | kCase32) == Load32(b) && (Load32(a + n - 4) | kCase32) == Load32(b + n - 4);
  }
  for (size_t i = 0; i < n; ++i) {
    if ((a[i] | 0x20) != b[i]) return false;
  }
  return true;
}

// ParseUnixSeconds: 1+ ASCII digits, value <= INT64_MAX (SPEC.md 2: no
// sign, space or fraction).
bool ParseUnixSeconds(absl::string_view s, int64_t* out) {
  if (s.empty()) return false;
  if (s.size() <= 18) {
    // Fewer than 19 digits cannot exceed INT64_MAX: no overflow checks.
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  }
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (static_cast<uint64_t>(INT64_MAX) - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

// kBase64UrlValue: the 6-bit value of each base64url character (RFC 4648
// section 5), -1 for every other byte.
constexpr std::array<int8_t, 256> kBase64UrlValue = [] {
  std::array<int8_t, 256> t{};
  for (size_t i = 0; i < t.size(); ++i) t[i] = -1;
  for (int i = 0; i < 26; ++i) t['A' + i] = static_cast<int8_t>(i);
  for (int i = 0; i < 26; ++i) t['a' + i] = static_cast<int8_t>(26 + i);
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
  t['-'] = 62;
  t['_'] = 63;
  return t;
}();

// DecodeHash decodes `text`, canonical base64url without padding of
// 43, 64 or 86 characters (a SHA-256/384/512 digest), into `out`. False
// when a character is not base64url or the unused low bits of the last
// character are not zero (RFC 4648 section 3.5: one spelling per value).
// Four characters (three octets) at a time, no branch per character.
bool DecodeHash(absl::string_view text, unsigned char* out) {
  auto v = [&text](size_t i) {
    return static_cast<int32_t>(kBase64UrlValue[static_cast<unsigned char>(text[i])]);
  };
  int32_t bad = 0;
  size_t i = 0;
  for (; i + 4 <= text.size(); i += 4) {
    const int32_t a = v(i), b = v(i + 1), c = v(i + 2), d = v(i + 3);
    bad |= a | b | c | d;  // -1 sets the sign bit
    const uint32_t triple = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                            static_cast<uint32_t>(c) << 6 | static_cast<uint32_t>(d);
    *out++ = static_cast<unsigned char>(triple >> 16);
    *out++ = static_cast<unsigned char>(triple >> 8);
    *out++ = static_cast<unsigned char>(triple);
  }
  switch (text.size() - i) {
    case 0:
      break;
    case 2: {  // one octet, 4 unused bits
      const int32_t a = v(i), b = v(i + 1);
      bad |= a | b | ((b & 0x0F) != 0 ? -1 : 0);
      *out++ = static_cast<unsigned char>(static_cast<uint32_t>(a) << 2 |
                                          static_cast<uint32_t>(b) >> 4);
      break;
    }
    case 3: {  // two octets, 2 unused bits
      const int32_t a = v(i), b = v(i + 1), c = v(i + 2);
      bad |= a | b | c | ((c & 0x03) != 0 ? -1 : 0);
      const uint32_t pair = static_cast<uint32_t>(a) << 10 | static_cast<uint32_t>(b) << 4 |
                            static_cast<uint32_t>(c) >> 2;
      *out++ = static_cast<unsigned char>(pair >> 8);
      *out++ = static_cast<unsigned char>(pair);
      break;
    }
    default:  // 1: not a base64 length; never a digest length
      return false;
  }
  return bad >= 0;
}

#if defined(__SSE2__)
// NonBase64UrlMask16: a bit per byte of the 16 at `s` that is not a
// base64url character (A-Z a-z 0-9 '-' '_'; `c | 0x20` folds exactly the
// letters onto a-z). SSE2 (every x86-64 CPU): an unsigned byte compare
// x <= n is min(x, n) == x. The compiler did not vectorize the scalar loop
// (perf: 15% of a verdict in it), so this is written out.
inline int NonBase64UrlMask16(const char* s) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
  const __m128i letter = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  const __m128i digit = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  const __m128i ok = _mm_or_si128(
      _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(letter, _mm_set1_epi8(25)), letter),
                   _mm_cmpeq_epi8(_mm_min_epu8(digit, _mm_set1_epi8(9)), digit)),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))));
  return _mm_movemask_epi8(ok) ^ 0xFFFF;
}
#endif

// AllBase64Url: every character of `text` is base64url.
bool AllBase64Url(absl::string_view text) {
#if defined(__SSE2__)
  if (text.size() >= 16) {
    // Whole blocks, the last one overlapping the one before.
    int bad = 0;
    for (size_t i = 0; i + 16 < text.size(); i += 16) bad |= NonBase64UrlMask16(text.data() + i);
    bad |= NonBase64UrlMask16(text.data() + text.size() - 16);
    return bad == 0;
  }
#endif
  int32_t bad = 0;
  for (char c : text) bad |= kBase64UrlValue[static_cast<unsigned char>(c)];
  return bad >= 0;
}

// HasCanonicalTail: the unused low bits of the last character of a
// base64url text are zero (RFC 4648 section 3.5: one spelling per value).
// `text.size() % 4` must not be 1.
bool HasCanonicalTail(absl::string_view text) {
  if (text.empty()) return true;
  const int32_t last = kBase64UrlValue[static_cast<unsigned char>(text.back())];
  switch (text.size() % 4) {
    case 2:
      return (last & 0x0F) == 0;
    case 3:
      return (last & 0x03) == 0;
    default:
      return true;
  }
}

// IsCanonicalBase64Url: every character of `text` is base64url and the
// unused low bits of the last one are zero (DecodeHash's checks, without
// decoding). `text.size() % 4` must not be 1.
bool IsCanonicalBase64Url(absl::string_view text) {
  return AllBase64Url(text) && HasCanonicalTail(text);
}

// Prefix64 is the first 8 octets of what a base64url text (at least 11
// characters, all checked) encodes, as a big-endian number: its first 66
// bits, shifted out of registers only (no byte stores to reload).
uint64_t Prefix64(absl::string_view text) {
  auto v = [&text](size_t i) {
    return static_cast<uint64_t>(kBase64UrlValue[static_cast<unsigned char>(text[i])]);
  };
  // Three independent groups: octets 0-2, 3-5, and 6-7 (+ 2 bits).
  const uint64_t a = v(0) << 18 | v(1) << 12 | v(2) << 6 | v(3);
  const uint64_t b = v(4) << 18 | v(5) << 12 | v(6) << 6 | v(7);
  const uint64_t c = v(8) << 18 | v(9) << 12 | v(10) << 6;
  return a << 40 | b << 16 | c >> 8;
}

// BigEndian64 reads 8 octets as a big-endian number.
uint64_t BigEndian64(const unsigned char* p) {
  // Written out so that compilers see one byte-swapped load.
  return static_cast<uint64_t>(p[0]) << 56 | static_cast<uint64_t>(p[1]) << 48 |
         static_cast<uint64_t>(p[2]) << 40 | static_cast<uint64_t>(p[3]) << 32 |
         static_cast<uint64_t>(p[4]) << 24 | static_cast<uint64_t>(p[5]) << 16 |
         static_cast<uint64_t>(p[6]) << 8 | static_cast<uint64_t>(p[7]);
}

std::string FormatUnix(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

std::string KeyName(int index) {
  return index == 0 ? "the current key (key 0)" : absl::StrCat("retained key ", index);
}

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kValid:
      return "valid";
    case Outcome::kMalformed:
      return "malformed";
    case Outcome::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

absl::string_view RecordVerdictName(RecordVerdict verdict) {
  switch (verdict) {
    case RecordVerdict::kIgnored:
      return "ignored";
    case RecordVerdict::kValid:
      return "valid";
    case RecordVerdict::kMalformed:
      return "malformed";
    case RecordVerdict::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

absl::string_view ProblemTypeUrn(ProblemType type) {
  switch (type) {
    case ProblemType::kMalformed:
      return "urn:ietf:params:acme:error:malformed";
    case ProblemType::kUnauthorized:
      return "urn:ietf:params:acme:error:unauthorized";
    case ProblemType::kDns:
      return "urn:ietf:params:acme:error:dns";
    case ProblemType::kCaa:
      return "urn:ietf:params:acme:error:caa";
    case ProblemType::kServerInternal:
      return "urn:ietf:params:acme:error:serverInternal";
  }
  return "urn:ietf:params:acme:error:serverInternal";
}

absl::string_view AccountUriModeName(AccountUriMode mode) {
  switch (mode) {
    case AccountUriMode::kHashed:
      return "hashed";
    case AccountUriMode::kLegacyRaw:
      return "raw";
  }
  return "unknown";
}

std::string JoinCharacterStrings(absl::Span<const std::string> strings) {
  return absl::StrJoin(strings, "");
}

std::string NormalizeIssuer(absl::string_view issuer) {
  std::string out = absl::AsciiStrToLower(TrimSpTab(issuer));
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

namespace {

// ParseInto is the parser behind ParseRecordValue and Decide (SPEC.md 2). It
// sets rec->issuer (trimmed, as written), the parameters read (as far as
// parsing got) and the first syntax problem (rec->syntax and its details,
// views into `value`). It allocates nothing for a well-formed record with
// up to 8 unknown tags.
//
// `accounturi_shape(value, start)` may recognize an accounturi value that
// starts at `start`: it returns where the value's bytes end - an end such
// that every byte before it is a value byte and the byte at it (if any) is
// not (exactly where ValueEnd would stop) - or npos to have it scanned.
template <typename AccountUriShape>
void ParseInto(absl::string_view value, RecordDecision* rec, const AccountUriShape& accounturi_shape) {
  auto fail = [rec](RecordReason code, absl::string_view text = {}) {
    rec->syntax = code;
    rec->text = text;
  };
  const size_t semi = Find(value, ';');
  rec->issuer = TrimSpTab(value.substr(0, semi));
  if (semi == absl::string_view::npos) return fail(RecordReason::kNoParameters);
  const size_t size = value.size();
  bool seen_accounturi = false, seen_persist = false, seen_policy = false;
  // Unknown tags seen so far (for the duplicate rule); a set takes over for
  // records with very many parameters so the check stays linear.
  absl::InlinedVector<absl::string_view, 8> unknown;
  std::unique_ptr<absl::flat_hash_set<std::string>> unknown_set;
  size_t n = 0;
  // Each segment (value[pos, next ';' or the end)) is read in one pass:
  // the tag up to '=', then the value up to ';'.
  size_t pos = semi + 1;
  // The known tags (SPEC.md 2), compared case-insensitively.
  static constexpr absl::string_view kAccountUri = "accounturi";
  static constexpr absl::string_view kPersistUntil = "persistuntil";
  static constexpr absl::string_view kPolicy = "policy";
  while (true) {
    ++n;
    // Fast path: SP/HTAB, a known tag, SP/HTAB, '='. That '=' is then the
    // segment's first '=' or ';' and the tag is the same as below.
    bool* known = nullptr;
    absl::string_view tag;
    size_t eq = pos;
    while (eq < size && IsSpTab(value[eq])) ++eq;
    for (auto [name, seen] : {std::pair<absl::string_view, bool*>{kAccountUri, &seen_accounturi},
                              {kPersistUntil, &seen_persist},
                              {kPolicy, &seen_policy}}) {
      if (size - eq > name.size() && LettersCaseEquals(value.substr(eq, name.size()), name)) {
        size_t after = eq + name.size();
        while (after < size && IsSpTab(value[after])) ++after;
        if (after < size && value[after] == '=') {
          tag = value.substr(eq, name.size());
          known = seen;
          eq = after;
        }
        break;
      }
    }
    if (known == nullptr) {
      eq = pos;
      while (eq < size && value[eq] != '=' && value[eq] != ';') ++eq;
    }
    if (eq == size || value[eq] == ';') {
      const absl::string_view segment = TrimSpTab(value.substr(pos, eq - pos));
      if (segment.empty()) {
        rec->offset = n;
        return fail(RecordReason::kEmptyParameter);
      }
      return fail(RecordReason::kNoEquals, segment);
    }
    if (known == nullptr) tag = TrimSpTab(value.substr(pos, eq - pos));
    if (tag.empty()) {
      const size_t next = Find(value.substr(pos), ';');
      return fail(RecordReason::kEmptyTag, TrimSpTab(value.substr(pos, next)));
    }
    // The value, trimmed: leading SP/HTAB skipped, then value bytes up to
    // ';' or the end. A byte that stops the scan early is either trailing
    // SP/HTAB (trimmed) or the first byte the value may not contain.
    size_t start = eq + 1;
    while (start < size && IsSpTab(value[start])) ++start;
    size_t stop = absl::string_view::npos;
    if (known == &seen_accounturi) stop = accounturi_shape(value, start);
    if (stop == absl::string_view::npos) stop = ValueEnd(value, start);
    size_t next = stop;  // ';' or the end
    if (stop < size && value[stop] != ';') {
      while (next < size && IsSpTab(value[next])) ++next;
      if (!IsSpTab(value[stop]) || (next < size && value[next] != ';')) {
        rec->byte = static_cast<unsigned char>(value[stop]);
        return fail(RecordReason::kBadValueByte, tag);
      }
    }
    const absl::string_view val = value.substr(start, stop - start);
    if (known == nullptr) {
      if (LettersCaseEquals(tag, kAccountUri)) {
        known = &seen_accounturi;
      } else if (LettersCaseEquals(tag, kPersistUntil)) {
        known = &seen_persist;
      } else if (LettersCaseEquals(tag, kPolicy)) {
        known = &seen_policy;
      }
    }
    bool duplicate = false;
    if (known != nullptr) {
      duplicate = *known;
      *known = true;
    } else if (unknown_set != nullptr) {
      duplicate = !unknown_set->insert(absl::AsciiStrToLower(tag)).second;
    } else {
      for (absl::string_view u : unknown) duplicate |= absl::EqualsIgnoreCase(u, tag);
      unknown.push_back(tag);
      if (unknown.size() > 16) {
        unknown_set = std::make_unique<absl::flat_hash_set<std::string>>();
        for (absl::string_view u : unknown) unknown_set->insert(absl::AsciiStrToLower(u));
      }
    }
    if (duplicate) return fail(RecordReason::kDuplicateTag, tag);
    if (known == &seen_accounturi) {
      if (val.empty()) return fail(RecordReason::kEmptyAccountUri);
      rec->accounturi = val;
    } else if (known == &seen_persist) {
      // SPEC.md 2 and 8: digits only (no sign, space or fraction), <= INT64_MAX.
      int64_t t = 0;
      if (!ParseUnixSeconds(val, &t)) return fail(RecordReason::kBadPersistUntil, val);
      rec->persist_until = t;
    } else if (known == &seen_policy) {
      // SPEC.md 2: only "wildcard" (any case) means something; any other
      // value, or an empty one, counts as absent.
      rec->policy_wildcard = LettersCaseEquals(val, "wildcard");
    }
    // Unknown tags: ignored (their uniqueness was checked above).
    if (next >= size) break;
    pos = next + 1;
  }
  if (!rec->accounturi.has_value()) fail(RecordReason::kMissingAccountUri);
}

// AppendSyntaxProblem appends the text of rec.syntax (SPEC.md 2, RFC 1035).
void AppendSyntaxProblem(const RecordDecision& rec, std::string* out) {
  switch (rec.syntax) {
    case RecordReason::kNoParameters:
      out->append("no parameters: accounturi is required (SPEC.md 2)");
      return;
    case RecordReason::kEmptyParameter:
      absl::StrAppend(out, "parameter ", rec.offset,
                      " is empty (\";;\" or a trailing \";\"; SPEC.md 2, RFC 8659 section 4.2)");
      return;
    case RecordReason::kNoEquals:
      absl::StrAppend(out, "parameter ", Quote(rec.text),
                      " has no '=': each parameter is tag=value (SPEC.md 2)");
      return;
    case RecordReason::kEmptyTag:
      absl::StrAppend(out, "parameter ", Quote(rec.text), " has an empty tag (SPEC.md 2)");
      return;
    case RecordReason::kBadValueByte:
      absl::StrAppendFormat(
          out,
          "the value of %s contains the byte 0x%02X: values are printable ASCII without space "
          "or ';' (%%x21-3A / %%x3C-7E, RFC 8659 section 4.2)",
          Quote(rec.text), rec.byte);
      return;
    case RecordReason::kDuplicateTag:
      absl::StrAppend(out, "tag ", Quote(rec.text),
                      " appears more than once (tags are case-insensitive; SPEC.md 2 and 8, -02 "
                      "section 9.3.1)");
      return;
    case RecordReason::kEmptyAccountUri:
      out->append("accounturi is empty (SPEC.md 2)");
      return;
    case RecordReason::kBadPersistUntil:
      absl::StrAppend(
          out, "persistUntil ", Quote(rec.text),
          " is not a Unix time: 1 or more ASCII digits, at most 9223372036854775807 (SPEC.md 2)");
      return;
    case RecordReason::kMissingAccountUri:
      out->append("accounturi is missing: it is required (SPEC.md 2)");
      return;
    case RecordReason::kLongCharacterString:
      absl::StrAppendFormat(
          out, "character-string %d is %d octets; DNS allows at most 255 (RFC 1035 section 3.3)",
          rec.offset, rec.length);
      return;
    case RecordReason::kNone:
    case RecordReason::kNoIssuer:
    case RecordReason::kOtherIssuer:
    case RecordReason::kRawAccountUrl:
    case RecordReason::kNotUnderPrefix:
    case RecordReason::kNoAlgorithm:
    case RecordReason::kUnknownAlgorithm:
    case RecordReason::kAlgorithmNotAccepted:
    case RecordReason::kBadHashCharacter:
    case RecordReason::kBadHashLength:
    case RecordReason::kNonCanonicalHash:
    case RecordReason::kDeactivated:
    case RecordReason::kFailedChecks:
    case RecordReason::kAccountUrlMatches:
    case RecordReason::kKeyBound:
      // Not syntax codes: ParseInto never sets them in `syntax`.
      return;
  }
}

}  // namespace

ParsedRecord ParseRecordValue(absl::string_view value) {
  RecordDecision view;
  ParseInto(value, &view, [](absl::string_view, size_t) { return absl::string_view::npos; });
  ParsedRecord rec;
  rec.issuer = NormalizeIssuer(view.issuer);
  if (view.syntax != RecordReason::kNone) {
    std::string error;
    AppendSyntaxProblem(view, &error);
    rec.status = absl::InvalidArgumentError(error);
  }
  if (view.accounturi.has_value()) rec.accounturi = std::string(*view.accounturi);
  rec.persist_until = view.persist_until;
  rec.policy_wildcard = view.policy_wildcard;
  return rec;
}

absl::Time ValidUntil(absl::Time now, std::optional<absl::Time> persist_until) {
  const absl::Time cap = now + kMaxReuse;
  if (!persist_until.has_value()) return cap;
  return std::min(cap, *persist_until);
}

KeyMatch KeyMatchView::ToKeyMatch() const {
  return KeyMatch{std::string(thumbprint), key_index, domain_independent, hash_alg};
}

namespace {

// Hashing for AccountBinding::Create. The formula is AccountUriHasher's
// (account_hash.h, SPEC.md 3): H(L || D || K || U); here each input is laid
// out once in a buffer and hashed with ONE update, K overwritten in place
// for each key, and the digests are kept raw (records are decoded instead of
// the digests encoded). AccountBinding.PrecomputedValuesMatchTheHasher
// checks both agree.

// ThreadMdCtx is this thread's reusable EVP_MD_CTX (null if OpenSSL could
// not allocate one): reusing a context is what makes hashing cheap
// (perf-floors: 0.25 us per SHA-256 against 0.63 us one-shot).
EVP_MD_CTX* ThreadMdCtx() {
  thread_local const internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return ctx.get();
}

// HashInput is L || D || K || U in one buffer; SetKey replaces K.
class HashInput {
 public:
  // `d` is 1..255 octets, `account_url` 1..kMaxAccountUrlLength (checked by
  // Create before).
  HashInput(absl::string_view d, absl::string_view account_url)
      : key_at_(1 + d.size()), size_(key_at_ + kThumbprintLength + account_url.size()) {
    buf_[0] = static_cast<char>(d.size());
    memcpy(buf_.data() + 1, d.data(), d.size());
    memcpy(buf_.data() + key_at_ + kThumbprintLength, account_url.data(), account_url.size());
  }
  // `thumbprint` passed IsThumbprint (exactly kThumbprintLength octets).
  void SetKey(absl::string_view thumbprint) {
    // Two fixed-size (overlapping) copies: no variable-length memcpy.
    static_assert(kThumbprintLength >= 32 && kThumbprintLength <= 64);
    memcpy(buf_.data() + key_at_, thumbprint.data(), 32);
    memcpy(buf_.data() + key_at_ + kThumbprintLength - 32,
           thumbprint.data() + kThumbprintLength - 32, 32);
  }
  absl::string_view bytes() const { return absl::string_view(buf_.data(), size_); }

 private:
  std::array<char, 1 + 255 + kThumbprintLength + kMaxAccountUrlLength> buf_;
  size_t key_at_;
  size_t size_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<AccountBinding>> AccountBinding::Create(
    const VerdictContext& ctx) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  // Default-initialized: no zeroing of the inline storage.
  std::unique_ptr<AccountBinding> b(new AccountBinding);
  // Copy the context's strings into one buffer, sized first so that the
  // views stay valid.
  size_t total = kPersistLabel.size() + 1 + ctx.identifier.fqdn.size() + ctx.account_url.size() +
                 ctx.hash_prefix.size();
  for (const std::string& s : ctx.issuers) total += s.size();
  for (const std::string& s : ctx.thumbprints) total += s.size();
  for (const std::string& s : ctx.hash_algs) total += s.size();
  b->bytes_.resize(total);
  char* const bytes = b->bytes_.data();
  size_t used = 0;
  auto keep = [bytes, &used](absl::string_view s) {
    if (!s.empty()) memcpy(bytes + used, s.data(), s.size());
    const absl::string_view kept(bytes + used, s.size());
    used += s.size();
    return kept;
  };
  // The owner name PersistOwnerName(fqdn) = `_validation-persist.<fqdn>`,
  // the FQDN being its tail.
  const absl::string_view label = keep(kPersistLabel);
  keep(".");
  b->fqdn_ = keep(ctx.identifier.fqdn);
  b->owner_ = absl::string_view(label.data(), label.size() + 1 + b->fqdn_.size());
  b->account_url_ = keep(ctx.account_url);
  b->hash_prefix_ = keep(ctx.hash_prefix);
  b->thumbprints_.resize(ctx.thumbprints.size());
  for (size_t i = 0; i < ctx.thumbprints.size(); ++i) b->thumbprints_[i] = keep(ctx.thumbprints[i]);
  b->hash_alg_tokens_.resize(ctx.hash_algs.size());
  for (size_t i = 0; i < ctx.hash_algs.size(); ++i) b->hash_alg_tokens_[i] = keep(ctx.hash_algs[i]);
  b->now_ = ctx.now;
  b->wildcard_ = ctx.identifier.wildcard;
  b->mode_ = ctx.mode;
  b->deactivated_ = ctx.deactivated;

  if (ctx.issuers.empty() || ctx.issuers.size() > kMaxIssuers) {
    return bad("issuers", absl::StrFormat("%d given; 1..%d issuer domain names are required",
                                          ctx.issuers.size(), kMaxIssuers));
  }
  b->issuers_.resize(ctx.issuers.size());
  for (size_t i = 0; i < ctx.issuers.size(); ++i) {
    // NormalizeIssuer, in the buffer.
    char* const p = bytes + used;
    const absl::string_view kept = keep(TrimSpTab(ctx.issuers[i]));
    for (size_t j = 0; j < kept.size(); ++j) {
      p[j] = static_cast<char>(p[j] + (static_cast<unsigned char>(p[j] - 'A') < 26 ? 32 : 0));
    }
    absl::string_view issuer = kept;
    if (!issuer.empty() && issuer.back() == '.') issuer.remove_suffix(1);
    absl::Status s = ValidateFqdn(issuer);
    if (!s.ok()) return bad(absl::StrCat("issuers[", i, "]"), s.message());
    b->issuers_[i] = issuer;
  }
  absl::Status s = ValidateFqdn(b->fqdn_);
  if (!s.ok()) return bad("identifier", s.message());
  if (b->account_url_.empty() || b->account_url_.size() > kMaxAccountUrlLength) {
    return bad("account_url", absl::StrFormat("is %d octets; 1..%d are allowed",
                                              b->account_url_.size(), kMaxAccountUrlLength));
  }
  switch (b->mode_) {
    case AccountUriMode::kLegacyRaw:
      return b;
    case AccountUriMode::kHashed:
      break;
  }
  if (b->hash_prefix_.empty() || b->hash_prefix_.size() > kMaxHashPrefixLength) {
    return bad("hash_prefix", absl::StrFormat("is %d octets; 1..%d are required in hashed mode",
                                              b->hash_prefix_.size(), kMaxHashPrefixLength));
  }
  b->prefix_is_value_bytes_ = true;
  for (char c : b->hash_prefix_) b->prefix_is_value_bytes_ &= IsValueByte(c);
  if (b->thumbprints_.empty() || b->thumbprints_.size() > kMaxThumbprints) {
    return bad("thumbprints", absl::StrFormat("%d given; 1..%d are required in hashed mode",
                                              b->thumbprints_.size(), kMaxThumbprints));
  }
  for (size_t i = 0; i < b->thumbprints_.size(); ++i) {
    // IsThumbprint (jwk.h): 43 canonical base64url characters, i.e. the
    // encoding of 32 octets.
    const absl::string_view t = b->thumbprints_[i];
    if (t.size() != kThumbprintLength || !IsCanonicalBase64Url(t)) {
      return bad(absl::StrCat("thumbprints[", i, "]"),
                 absl::StrCat(Quote(t),
                              " is not an RFC 7638 SHA-256 thumbprint (43 base64url characters)"));
    }
  }
  // SPEC.md 3: sha-256 unless configured otherwise.
  if (b->hash_alg_tokens_.empty()) b->hash_alg_tokens_.push_back(HashAlgToken(HashAlg::kSha256));
  for (size_t i = 0; i < b->hash_alg_tokens_.size(); ++i) {
    absl::StatusOr<HashAlg> alg = ParseHashAlg(b->hash_alg_tokens_[i]);
    if (!alg.ok()) return bad(absl::StrCat("hash_algs[", i, "]"), alg.status().message());
    bool seen = false;
    for (const Accepted& a : b->algs_) seen |= a.alg == *alg;
    if (!seen) {
      b->algs_.push_back(Accepted{HashAlgToken(*alg), *alg,
                                  static_cast<uint8_t>(HashAlgDigestLength(*alg)),
                                  static_cast<uint8_t>(HashAlgEncodedLength(*alg))});
    }
  }
  EVP_MD_CTX* md_ctx = ThreadMdCtx();
  if (md_ctx == nullptr) return absl::InternalError("EVP_MD_CTX_new failed");
  // SPEC.md 3: every retained key (current first) x {D = FQDN, D = "*"}.
  // Only the digests are kept; the prefix and "<alg>/" are checked
  // separately when a record is read.
  size_t digest_bytes = 0;
  for (const Accepted& a : b->algs_) digest_bytes += a.digest_length;
  b->expected_.reserve(b->thumbprints_.size() * 2 * b->algs_.size());
  b->digests_.resize(b->thumbprints_.size() * 2 * digest_bytes);
  HashInput inputs[2] = {HashInput(b->fqdn_, b->account_url_),
                         HashInput(kDomainIndependent, b->account_url_)};
  size_t at = 0;
  for (size_t k = 0; k < b->thumbprints_.size(); ++k) {
    for (bool domain_independent : {false, true}) {
      HashInput& in = inputs[domain_independent ? 1 : 0];
      in.SetKey(b->thumbprints_[k]);
      const absl::string_view input = in.bytes();
      for (const Accepted& accepted : b->algs_) {
        const HashAlg alg = accepted.alg;
        const EVP_MD* md = internal::FetchedMd(alg);
        unsigned int len = 0;
        if (md == nullptr || EVP_DigestInit_ex(md_ctx, md, nullptr) != 1 ||
            EVP_DigestUpdate(md_ctx, input.data(), input.size()) != 1 ||
            EVP_DigestFinal_ex(md_ctx, b->digests_.data() + at, &len) != 1 ||
            len != accepted.digest_length) {
          ERR_clear_error();
          return absl::InternalError(absl::StrCat("OpenSSL cannot compute ", HashAlgToken(alg)));
        }
        b->expected_.emplace_back(static_cast<int>(k), domain_independent, alg, at, 0);
        at += len;
      }
    }
  }
  // Read back once OpenSSL's stores are done (no store-to-load stall).
  for (Expected& e : b->expected_) e.prefix = BigEndian64(b->digests_.data() + e.digest_offset);
  return b;
}

const VerdictContext& AccountBinding::context() const {
  absl::call_once(context_once_, [this] {
    context_ = std::make_unique<VerdictContext>();
    VerdictContext& c = *context_;
    for (absl::string_view s : issuers_) c.issuers.emplace_back(s);
    c.now = now_;
    c.identifier.fqdn = std::string(fqdn_);
    c.identifier.wildcard = wildcard_;
    c.mode = mode_;
    c.account_url = std::string(account_url_);
    for (absl::string_view s : thumbprints_) c.thumbprints.emplace_back(s);
    c.hash_prefix = std::string(hash_prefix_);
    for (absl::string_view s : hash_alg_tokens_) c.hash_algs.emplace_back(s);
    c.deactivated = deactivated_;
  });
  return *context_;
}

KeyMatchView AccountBinding::MakeKeyMatch(const Expected& e) const {
  return KeyMatchView{thumbprints_[e.key_index], e.key_index, e.domain_independent, e.hash_alg};
}

std::vector<ExpectedAccountUri> AccountBinding::expected() const {
  std::vector<ExpectedAccountUri> out;
  for (const Expected& e : expected_) {
    const absl::string_view digest(reinterpret_cast<const char*>(digests_.data()) + e.digest_offset,
                                   HashAlgDigestLength(e.hash_alg));
    out.push_back(ExpectedAccountUri{
        absl::StrCat(hash_prefix_, HashAlgToken(e.hash_alg), "/", Base64UrlNoPad(digest)),
        MakeKeyMatch(e).ToKeyMatch()});
  }
  return out;
}

// CheckAccountUri applies SPEC.md 3 to a syntactically valid record's
// accounturi: sets r->reason to a malformed code (with its details) when the
// value is not a well-formed value for this CA; otherwise records the
// matched value in r->key, or sets kAccountUriMismatch in r->failed.
void AccountBinding::CheckAccountUri(absl::string_view uri, const Accepted* shaped,
                                     RecordDecision* r) const {
  switch (mode_) {
    case AccountUriMode::kLegacyRaw:
      // Drafts -00/-01: the raw account URL, byte-exact. Constant-time
      // (BoringSSL style: length first, then CRYPTO_memcmp).
      if (uri.size() != account_url_.size() ||
          CRYPTO_memcmp(uri.data(), account_url_.data(), uri.size()) != 0) {
        r->failed |= RecordDecision::kAccountUriMismatch;
      }
      return;
    case AccountUriMode::kHashed:
      break;
  }
  const absl::string_view prefix = hash_prefix_;
  if (shaped != nullptr) {
    // DecideRecord saw <prefix><token>/<exactly N base64url characters>.
    const absl::string_view hash = uri.substr(prefix.size() + shaped->token.size() + 1);
    r->alg = shaped->alg;
    if (!HasCanonicalTail(hash)) {
      r->reason = RecordReason::kNonCanonicalHash;
      return;
    }
    return MatchHash(hash, *shaped, r);
  }
  if (uri.size() < prefix.size() || !BytesEqual(uri.data(), prefix.data(), prefix.size())) {
    r->reason = uri == account_url_ ? RecordReason::kRawAccountUrl
                                       : RecordReason::kNotUnderPrefix;
    return;
  }
  const absl::string_view rest = uri.substr(prefix.size());
  // The common case first: an accepted "<alg>/" (a token holds no '/', so
  // that '/' is the first one and the token is that algorithm's).
  const Accepted* accepted = nullptr;
  for (const Accepted& a : algs_) {
    if (rest.size() > a.token.size() && rest[a.token.size()] == '/' &&
        BytesEqual(rest.data(), a.token.data(), a.token.size())) {
      accepted = &a;
      break;
    }
  }
  if (accepted == nullptr) {
    // Name the rule broken: no '/', a token that is not an algorithm
    // (ParseHashAlg: exact lowercase tokens), or one not accepted here.
    const size_t slash = Find(rest, '/');
    if (slash == absl::string_view::npos) {
      r->reason = RecordReason::kNoAlgorithm;
      return;
    }
    const absl::string_view token = rest.substr(0, slash);
    absl::StatusOr<HashAlg> alg = ParseHashAlg(token);
    if (!alg.ok()) {
      r->reason = RecordReason::kUnknownAlgorithm;
      r->text = token;
      return;
    }
    r->alg = *alg;
    r->reason = RecordReason::kAlgorithmNotAccepted;
    return;
  }
  const HashAlg alg = accepted->alg;
  r->alg = alg;
  const absl::string_view hash = rest.substr(accepted->token.size() + 1);
  const size_t want = accepted->encoded_length;
  if (hash.size() != want || !IsCanonicalBase64Url(hash)) {
    // Name the first rule broken, in this order: every character is
    // base64url (no padding), the length, canonical.
    for (size_t i = 0; i < hash.size(); ++i) {
      if (kBase64UrlValue[static_cast<unsigned char>(hash[i])] < 0) {
        r->reason = RecordReason::kBadHashCharacter;
        r->offset = i;
        r->byte = static_cast<unsigned char>(hash[i]);
        return;
      }
    }
    if (hash.size() != want) {
      r->reason = RecordReason::kBadHashLength;
      r->length = hash.size();
      return;
    }
    // The last character's unused low bits must be zero (canonical
    // base64url: every value has exactly one accepted spelling).
    r->reason = RecordReason::kNonCanonicalHash;
    return;
  }
  MatchHash(hash, *accepted, r);
}

// MatchHash compares a well-formed hash (canonical base64url of `alg`'s
// length) with the expected values: sets r->key, or kAccountUriMismatch.
void AccountBinding::MatchHash(absl::string_view hash, const Accepted& accepted,
                               RecordDecision* r) const {
  const HashAlg alg = accepted.alg;
  // A plain comparison: the value is not a secret (it is published in DNS,
  // and anyone who knows the account URL and key thumbprint can compute
  // it), so a constant-time compare would protect nothing here. The first
  // 8 octets rule out the other values at once; a candidate is then decoded
  // and compared whole (32, 48 or 64 octets, a word at a time).
  const uint64_t first = Prefix64(hash);
  const size_t n = accepted.digest_length;
  unsigned char digest[EVP_MAX_MD_SIZE];
  bool decoded = false;
  for (size_t i = 0; i < expected_.size(); ++i) {
    const Expected& e = expected_[i];
    if (e.prefix != first || e.hash_alg != alg) continue;
    const unsigned char* want_digest = digests_.data() + e.digest_offset;
    if (!decoded) {
      if (!DecodeHash(hash, digest)) break;  // cannot happen: checked above
      decoded = true;
    }
    size_t w = 8;
    while (w < n && Load64(want_digest + w) == Load64(digest + w)) w += 8;
    if (w >= n) {
      r->key = static_cast<int>(i);
      return;
    }
  }
  r->failed |= RecordDecision::kAccountUriMismatch;
}

bool AccountBinding::IsOurIssuer(absl::string_view issuer) const {
  // NormalizeIssuer without the copy: ASCII case folded, one trailing dot.
  // Our issuers are normalized (lowercase), so folding the record's side is
  // enough.
  if (!issuer.empty() && issuer.back() == '.') issuer.remove_suffix(1);
  for (absl::string_view ours : issuers_) {
    if (AsciiCaseEquals(issuer, ours)) return true;
  }
  return false;
}

void AccountBinding::DecideRecord(const TxtRr& rr, RecordDecision* r) const {
  // Hashed mode: an accounturi of the expected shape, <prefix><accepted
  // token>/<N base64url characters>, is recognized while it is read: its
  // bytes are then all value bytes (the prefix's were checked in Create,
  // tokens, '/' and base64url are), so it needs no byte scan, and
  // CheckAccountUri only has the canonical tail and the comparison left.
  const Accepted* shaped = nullptr;
  auto accounturi_shape = [this, &shaped](absl::string_view value, size_t start) -> size_t {
    if (!prefix_is_value_bytes_) return absl::string_view::npos;
    const absl::string_view rest = value.substr(start);
    const size_t p = hash_prefix_.size();
    if (rest.size() <= p || !BytesEqual(rest.data(), hash_prefix_.data(), p)) {
      return absl::string_view::npos;
    }
    for (const Accepted& a : algs_) {
      const size_t t = a.token.size();
      const size_t end = p + t + 1 + a.encoded_length;
      if (rest.size() >= end && rest[p + t] == '/' &&
          BytesEqual(rest.data() + p, a.token.data(), t) &&
          (end == rest.size() || !IsValueByte(rest[end])) &&
          AllBase64Url(rest.substr(p + t + 1, a.encoded_length))) {
        shaped = &a;
        return start + end;
      }
    }
    return absl::string_view::npos;
  };
  ParseInto(r->value, r, accounturi_shape);
  // SPEC.md 2: a record for another CA is ignored completely, even if broken.
  if (!IsOurIssuer(r->issuer)) {
    r->verdict = RecordVerdict::kIgnored;
    r->reason = r->issuer.empty() ? RecordReason::kNoIssuer : RecordReason::kOtherIssuer;
    return;
  }
  // RFC 1035 section 3.3: a character-string is at most 255 octets. Longer
  // ones cannot come from DNS; whoever produced them is not to be trusted.
  if (r->syntax == RecordReason::kNone) {
    for (size_t i = 0; i < rr.size(); ++i) {
      if (rr[i].size() > 255) {
        r->syntax = RecordReason::kLongCharacterString;
        r->offset = i;
        r->length = rr[i].size();
        break;
      }
    }
  }
  if (deactivated_) {
    // SPEC.md 3: a deactivated account is unauthorized for every record.
    r->verdict = RecordVerdict::kUnauthorized;
    r->reason = RecordReason::kDeactivated;
    return;
  }
  if (r->syntax != RecordReason::kNone) {
    r->verdict = RecordVerdict::kMalformed;
    r->reason = r->syntax;
    return;
  }
  CheckAccountUri(*r->accounturi, shaped, r);
  if (r->reason != RecordReason::kNone) {
    r->verdict = RecordVerdict::kMalformed;
    return;
  }
  // SPEC.md 2: usable while now <= persistUntil (BR: not AFTER the time).
  if (r->persist_until.has_value() && now_ > absl::FromUnixSeconds(*r->persist_until)) {
    r->failed |= RecordDecision::kExpired;
  }
  // SPEC.md 2: a wildcard identifier needs policy=wildcard.
  if (wildcard_ && !r->policy_wildcard) {
    r->failed |= RecordDecision::kNoWildcardPolicy;
  }
  if (r->failed != 0) {
    r->verdict = RecordVerdict::kUnauthorized;
    r->reason = RecordReason::kFailedChecks;
    r->key = -1;
    return;
  }
  r->verdict = RecordVerdict::kValid;
  switch (mode_) {
    case AccountUriMode::kLegacyRaw:
      r->reason = RecordReason::kAccountUrlMatches;
      return;
    case AccountUriMode::kHashed:
      r->reason = RecordReason::kKeyBound;
      return;
  }
}

RrsetDecision AccountBinding::Decide(absl::Span<const TxtRr> rrset) const {
  RrsetDecision d;
  // SPEC.md 2: one TXT RR = one record, its character-strings joined with
  // NO separator. An RR of one string is viewed in place; the others are
  // joined into one buffer, sized first so the views stay put.
  size_t joined_size = 0;
  for (const TxtRr& rr : rrset) {
    if (rr.size() > 1) {
      for (const std::string& s : rr) joined_size += s.size();
    }
  }
  char* joined = nullptr;
  if (joined_size > 0) {
    d.joined.reset(new char[joined_size]);
    joined = d.joined.get();
  }
  d.records.resize(rrset.size());
  bool any_malformed = false;
  for (size_t i = 0; i < rrset.size(); ++i) {
    const TxtRr& rr = rrset[i];
    RecordDecision& r = d.records[i];
    r.index = static_cast<int>(i);
    if (rr.size() == 1) {
      r.value = rr[0];
    } else if (rr.size() > 1) {
      const char* start = joined;
      for (const std::string& s : rr) {
        if (s.empty()) continue;
        memcpy(joined, s.data(), s.size());
        joined += s.size();
      }
      r.value = absl::string_view(start, static_cast<size_t>(joined - start));
    }
    DecideRecord(rr, &r);
    switch (r.verdict) {
      case RecordVerdict::kIgnored:
        break;
      case RecordVerdict::kValid:
        if (d.matched_index < 0) {
          // SPEC.md 4: the first passing record is the evidence.
          d.matched_index = r.index;
          d.matched_accounturi = *r.accounturi;
          if (r.key >= 0) d.matched_key = MakeKeyMatch(expected_[r.key]);
          if (r.persist_until.has_value()) {
            d.persist_until = absl::FromUnixSeconds(*r.persist_until);
          }
        }
        break;
      case RecordVerdict::kMalformed:
        any_malformed = true;
        break;
      case RecordVerdict::kUnauthorized:
        break;
    }
  }
  if (d.matched_index >= 0) {
    d.outcome = Outcome::kValid;
    d.valid_until = ValidUntil(now_, d.persist_until);
    return d;
  }
  // SPEC.md 4: malformed if any record of ours is malformed; otherwise
  // (also no record of ours, an empty RRset, a deactivated account: every
  // record of ours is then unauthorized) unauthorized.
  d.outcome = any_malformed ? Outcome::kMalformed : Outcome::kUnauthorized;
  d.problem_type = any_malformed ? ProblemType::kMalformed : ProblemType::kUnauthorized;
  return d;
}

// ---------------------------------------------------------------------------
// The explanation.

void AccountBinding::AppendAccountUriProblem(const RecordDecision& r, std::string* out) const {
  const absl::string_view uri = r.accounturi.value_or(absl::string_view());
  const absl::string_view prefix = hash_prefix_;
  switch (r.reason) {
    case RecordReason::kRawAccountUrl:
      absl::StrAppend(
          out,
          "accounturi is the raw account URL (the -00/-01 form, open to the proxy-server attack): "
          "refused in hashed mode, a key-bound value under ",
          Quote(prefix), " is required (SPEC.md 3)");
      return;
    case RecordReason::kNotUnderPrefix:
      absl::StrAppend(out, "accounturi ", Quote(uri), " is not under the accountHashPrefix ",
                      Quote(prefix), " (byte-exact; SPEC.md 3)");
      return;
    case RecordReason::kNoAlgorithm:
      absl::StrAppend(out, "accounturi ", Quote(uri),
                      " has no \"<alg>/\" after the accountHashPrefix (SPEC.md 3)");
      return;
    case RecordReason::kUnknownAlgorithm:
      absl::StrAppend(out, "accounturi: ", ParseHashAlg(r.text).status().message());
      return;
    case RecordReason::kAlgorithmNotAccepted: {
      std::vector<absl::string_view> accepted;
      for (const Accepted& a : algs_) accepted.push_back(a.token);
      absl::StrAppend(out, "accounturi: hash algorithm ", HashAlgToken(r.alg),
                      " is not accepted here (accepted: ", absl::StrJoin(accepted, ", "),
                      "; SPEC.md 3)");
      return;
    }
    case RecordReason::kBadHashCharacter:
      absl::StrAppendFormat(
          out,
          "accounturi: the hash contains %s at offset %d: base64url without padding is required "
          "(SPEC.md 3)",
          r.byte == '=' ? std::string("padding '='") : absl::StrFormat("the byte 0x%02X", r.byte),
          r.offset);
      return;
    case RecordReason::kBadHashLength:
      absl::StrAppendFormat(out,
                            "accounturi: the %s hash is %d characters; exactly %d base64url "
                            "characters are required (SPEC.md 3)",
                            HashAlgToken(r.alg), r.length, HashAlgEncodedLength(r.alg));
      return;
    case RecordReason::kNonCanonicalHash:
      out->append(
          "accounturi: the hash is not canonical base64url: the unused low bits of the last "
          "character must be zero (SPEC.md 3)");
      return;
    case RecordReason::kNone:
    case RecordReason::kNoIssuer:
    case RecordReason::kOtherIssuer:
    case RecordReason::kNoParameters:
    case RecordReason::kEmptyParameter:
    case RecordReason::kNoEquals:
    case RecordReason::kEmptyTag:
    case RecordReason::kBadValueByte:
    case RecordReason::kDuplicateTag:
    case RecordReason::kEmptyAccountUri:
    case RecordReason::kBadPersistUntil:
    case RecordReason::kMissingAccountUri:
    case RecordReason::kLongCharacterString:
    case RecordReason::kDeactivated:
    case RecordReason::kFailedChecks:
    case RecordReason::kAccountUrlMatches:
    case RecordReason::kKeyBound:
      // Not accounturi codes.
      return;
  }
}

void AccountBinding::AppendUnauthorized(const RecordDecision& r, std::string* out) const {
  const char* sep = "";
  if (r.failed & RecordDecision::kAccountUriMismatch) {
    switch (mode_) {
      case AccountUriMode::kLegacyRaw:
        absl::StrAppend(out, "accounturi ", Quote(r.accounturi.value_or(absl::string_view())),
                        " is not this account's URL (legacy raw mode, byte-exact compare; "
                        "SPEC.md 3)");
        break;
      case AccountUriMode::kHashed:
        absl::StrAppend(out, "accounturi matches none of the ", thumbprints_.size(),
                        " key(s) of this account for ", fqdn_, " or \"*\" with ",
                        HashAlgToken(r.alg),
                        ": it was computed for another account, key, domain or account URL "
                        "(SPEC.md 3)");
        break;
    }
    sep = "; ";
  }
  if (r.failed & RecordDecision::kExpired) {
    const int64_t p = r.persist_until.value_or(0);
    absl::StrAppend(out, sep, "persistUntil ", p, " (", FormatUnix(p),
                    ") is before the validation time ",
                    absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", now_, absl::UTCTimeZone()),
                    " (SPEC.md 2)");
    sep = "; ";
  }
  if (r.failed & RecordDecision::kNoWildcardPolicy) {
    absl::StrAppend(out, sep, "the identifier is the wildcard *.", fqdn_,
                    " and the record has no policy=wildcard (SPEC.md 2)");
  }
}

std::string AccountBinding::Reason(const RecordDecision& r) const {
  std::string out;
  switch (r.reason) {
    case RecordReason::kNone:
      break;
    case RecordReason::kNoIssuer:
      out = "no issuer-domain-name: not a record for this CA (SPEC.md 2)";
      break;
    case RecordReason::kOtherIssuer:
      out = absl::StrCat("issuer ", Quote(NormalizeIssuer(r.issuer)),
                         " is not one of this CA's issuer domain names (SPEC.md 2)");
      break;
    case RecordReason::kNoParameters:
    case RecordReason::kEmptyParameter:
    case RecordReason::kNoEquals:
    case RecordReason::kEmptyTag:
    case RecordReason::kBadValueByte:
    case RecordReason::kDuplicateTag:
    case RecordReason::kEmptyAccountUri:
    case RecordReason::kBadPersistUntil:
    case RecordReason::kMissingAccountUri:
    case RecordReason::kLongCharacterString:
      AppendSyntaxProblem(r, &out);
      break;
    case RecordReason::kRawAccountUrl:
    case RecordReason::kNotUnderPrefix:
    case RecordReason::kNoAlgorithm:
    case RecordReason::kUnknownAlgorithm:
    case RecordReason::kAlgorithmNotAccepted:
    case RecordReason::kBadHashCharacter:
    case RecordReason::kBadHashLength:
    case RecordReason::kNonCanonicalHash:
      AppendAccountUriProblem(r, &out);
      break;
    case RecordReason::kDeactivated:
      out = "the account is deactivated: no record can authorize it (SPEC.md 3)";
      if (r.syntax != RecordReason::kNone) {
        out.append("; the record is also malformed: ");
        AppendSyntaxProblem(r, &out);
      }
      break;
    case RecordReason::kFailedChecks:
      AppendUnauthorized(r, &out);
      break;
    case RecordReason::kAccountUrlMatches:
    case RecordReason::kKeyBound:
      if (r.reason == RecordReason::kAccountUrlMatches || r.key < 0 ||
          static_cast<size_t>(r.key) >= expected_.size()) {
        out = "accounturi is this account's URL (legacy raw mode)";
      } else {
        const Expected& e = expected_[r.key];
        out = absl::StrCat("accounturi is bound to ", KeyName(e.key_index), " for ",
                           e.domain_independent ? absl::string_view("any domain (D=\"*\")")
                                                : fqdn_,
                           " with ", HashAlgToken(e.hash_alg));
      }
      if (wildcard_) out.append("; policy=wildcard");
      if (r.persist_until.has_value()) {
        absl::StrAppend(&out, "; usable until persistUntil ", *r.persist_until);
      }
      break;
  }
  return out;
}

RecordResult AccountBinding::ExplainRecord(const RecordDecision& r) const {
  RecordResult out;
  out.index = r.index;
  out.value = std::string(r.value);
  out.verdict = r.verdict;
  out.reason = Reason(r);
  if (r.accounturi.has_value()) out.accounturi = std::string(*r.accounturi);
  out.persist_until = r.persist_until;
  out.policy_wildcard = r.policy_wildcard;
  if (r.verdict == RecordVerdict::kValid && r.key >= 0) {
    out.key = MakeKeyMatch(expected_[r.key]).ToKeyMatch();
  }
  return out;
}

std::optional<Problem> AccountBinding::ExplainProblem(const RrsetDecision& d) const {
  if (!d.problem_type.has_value()) return std::nullopt;
  Problem p;
  p.type = *d.problem_type;
  int ours = 0;
  for (const RecordDecision& r : d.records) ours += r.verdict != RecordVerdict::kIgnored;
  if (deactivated_) {
    p.detail = "the account is deactivated: no record can authorize it (SPEC.md 3)";
  } else if (d.records.empty()) {
    p.detail = absl::StrCat("no TXT record at ", owner_, " (SPEC.md 4)");
  } else if (ours == 0) {
    p.detail = absl::StrFormat(
        "none of the %d TXT record(s) at %s names this CA (%s); records for other CAs are "
        "ignored (SPEC.md 2)",
        d.records.size(), owner_, absl::StrJoin(issuers_, ", "));
  } else {
    p.detail = absl::StrFormat("no valid record at %s: ", owner_);
    constexpr int kMaxListed = 4;
    int listed = 0;
    for (const RecordDecision& r : d.records) {
      if (r.verdict == RecordVerdict::kIgnored) continue;
      if (listed == kMaxListed) {
        absl::StrAppend(&p.detail, "; and ", ours - listed, " more");
        break;
      }
      absl::StrAppend(&p.detail, listed == 0 ? "" : "; ", "record ", r.index, " is ",
                      RecordVerdictName(r.verdict), ": ", Reason(r));
      ++listed;
    }
  }
  return p;
}

RrsetVerdict AccountBinding::Explain(const RrsetDecision& d) const {
  RrsetVerdict v;
  v.outcome = d.outcome;
  v.problem = ExplainProblem(d);
  v.records.reserve(d.records.size());
  for (const RecordDecision& r : d.records) v.records.push_back(ExplainRecord(r));
  v.matched_index = d.matched_index;
  v.matched_accounturi = std::string(d.matched_accounturi);
  if (d.matched_key.has_value()) v.matched_key = d.matched_key->ToKeyMatch();
  v.persist_until = d.persist_until;
  v.valid_until = d.valid_until;
  return v;
}

RrsetVerdict AccountBinding::Evaluate(absl::Span<const TxtRr> rrset) const {
  return Explain(Decide(rrset));
}

absl::StatusOr<RrsetVerdict> EvaluateRrset(const VerdictContext& context,
                                           absl::Span<const TxtRr> rrset) {
  absl::StatusOr<std::unique_ptr<AccountBinding>> binding = AccountBinding::Create(context);
  if (!binding.ok()) return binding.status();
  return (*binding)->Evaluate(rrset);
}

}  // namespace vantage::policy
