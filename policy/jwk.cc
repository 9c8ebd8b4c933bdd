#include "policy/jwk.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "policy/openssl_util.h"
#include "policy/text_util.h"

namespace vantage::policy {
namespace {

using internal::BioPtr;
using internal::BnPtr;
using internal::DrainOpenSslErrors;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OsslParamBldPtr;
using internal::OsslParamPtr;
using internal::Quote;

// kBase64UrlValues maps a byte to its base64url value, or -1.
const std::array<int8_t, 256> kBase64UrlValues = [] {
  std::array<int8_t, 256> t;
  t.fill(-1);
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<int8_t>(i);
    t['a' + i] = static_cast<int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(52 + i);
  t['-'] = 62;
  t['_'] = 63;
  return t;
}();

bool IsBase64UrlChar(char c) { return kBase64UrlValues[static_cast<unsigned char>(c)] >= 0; }

// The public members of a JWK that RFC 7638 hashes, as base64url text.
struct JwkMembers {
  std::string kty;
  std::string crv;
  std::string n, e;  // RSA
  std::string x, y;  // EC (x, y), OKP (x)
};

struct Curve {
  absl::string_view jwk_name;      // RFC 7518 section 6.2.1.1
  absl::string_view openssl_name;  // OSSL_PKEY_PARAM_GROUP_NAME
  size_t coordinate_octets;        // RFC 7518 section 6.2.1.2
};
constexpr std::array<Curve, 3> kCurves = {{
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
}};

const Curve* CurveByJwkName(absl::string_view name) {
  for (const Curve& c : kCurves) {
    if (c.jwk_name == name) return &c;
  }
  return nullptr;
}

const Curve* CurveByOpenSslName(absl::string_view name) {
  for (const Curve& c : kCurves) {
    if (c.openssl_name == name) return &c;
  }
  // OpenSSL 3 may report the NIST names too.
  return CurveByJwkName(name);
}

absl::Status MemberError(absl::string_view member, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("JWK member \"", member, "\": ", why));
}

absl::StatusOr<std::string> DecodeMember(absl::string_view member, absl::string_view value) {
  absl::StatusOr<std::string> raw = Base64UrlDecode(value);
  if (!raw.ok()) return MemberError(member, raw.status().message());
  if (raw->empty()) return MemberError(member, "is empty");
  return raw;
}

// RFC 7518 section 2 "Base64urlUInt": big-endian, minimal octets.
absl::StatusOr<std::string> DecodeUInt(absl::string_view member, absl::string_view value) {
  absl::StatusOr<std::string> raw = DecodeMember(member, value);
  if (!raw.ok()) return raw;
  if (raw->size() > 1 && (*raw)[0] == '\0') {
    return MemberError(member,
                       "has a leading zero octet; RFC 7518 section 2 (Base64urlUInt) requires "
                       "the minimal encoding, and the thumbprint depends on it");
  }
  return raw;
}

size_t BitLength(absl::string_view big_endian) {
  if (big_endian.empty()) return 0;
  size_t bits = (big_endian.size() - 1) * 8;
  for (unsigned v = static_cast<unsigned char>(big_endian[0]); v != 0; v >>= 1) ++bits;
  return bits;
}

// CheckEcPoint asks OpenSSL whether (x, y) is a valid public point.
absl::Status CheckEcPoint(const Curve& curve, absl::string_view x, absl::string_view y) {
  std::string point = absl::StrCat(absl::string_view("\x04", 1), x, y);
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                       curve.openssl_name.data(), curve.openssl_name.size()) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return absl::InternalError(absl::StrCat("OpenSSL param build: ", DrainOpenSslErrors()));
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return absl::InternalError(absl::StrCat("OpenSSL EC setup: ", DrainOpenSslErrors()));
  }
  EVP_PKEY* raw_key = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return MemberError("x", absl::StrCat("(x, y) is not a point on ", curve.jwk_name, " (",
                                         DrainOpenSslErrors(), ")"));
  }
  EvpPkeyPtr key(raw_key);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return MemberError("x", absl::StrCat("(x, y) is not a valid public point on ", curve.jwk_name,
                                         " (", DrainOpenSslErrors(), ")"));
  }
  return absl::OkStatus();
}

// Canonical validates the members and writes the RFC 7638 section 3.2 JSON.
// Writing it directly (rather than through a JSON printer) is what RFC 7638
// section 3.3 requires: the hash is over these exact bytes (members in
// lexicographic order, no whitespace), and no JSON library we have
// guarantees member order. The values are validated canonical base64url and
// fixed tokens, so nothing in them needs JSON escaping.
absl::StatusOr<std::string> Canonical(const JwkMembers& m) {
  if (m.kty == "RSA") {
    absl::StatusOr<std::string> n = DecodeUInt("n", m.n);
    if (!n.ok()) return n.status();
    absl::StatusOr<std::string> e = DecodeUInt("e", m.e);
    if (!e.ok()) return e.status();
    const size_t bits = BitLength(*n);
    if (bits < 2048 || bits > 8192) {
      return MemberError("n",
                         absl::StrFormat("RSA modulus is %d bits; accepted: 2048..8192", bits));
    }
    if (e->size() > 8 || (static_cast<unsigned char>(e->back()) & 1) == 0 ||
        (e->size() == 1 && (*e)[0] == 1)) {
      return MemberError("e",
                         "RSA public exponent must be odd, greater than 1 and at most 8 "
                         "octets");
    }
    return absl::StrCat("{\"e\":\"", m.e, "\",\"kty\":\"RSA\",\"n\":\"", m.n, "\"}");
  }
  if (m.kty == "EC") {
    const Curve* curve = CurveByJwkName(m.crv);
    if (curve == nullptr) {
      return MemberError(
          "crv", absl::StrCat(Quote(m.crv), " is not supported; accepted: P-256, P-384, P-521"));
    }
    for (const auto& [name, value] :
         {std::pair<absl::string_view, const std::string&>{"x", m.x}, {"y", m.y}}) {
      absl::StatusOr<std::string> raw = DecodeMember(name, value);
      if (!raw.ok()) return raw.status();
      if (raw->size() != curve->coordinate_octets) {
        return MemberError(name,
                           absl::StrFormat("is %d octets; %s coordinates are exactly %d octets "
                                           "(RFC 7518 section 6.2.1.2)",
                                           raw->size(), curve->jwk_name, curve->coordinate_octets));
      }
    }
    absl::Status on_curve = CheckEcPoint(*curve, *Base64UrlDecode(m.x), *Base64UrlDecode(m.y));
    if (!on_curve.ok()) return on_curve;
    return absl::StrCat("{\"crv\":\"", curve->jwk_name, "\",\"kty\":\"EC\",\"x\":\"", m.x,
                        "\",\"y\":\"", m.y, "\"}");
  }
  if (m.kty == "OKP") {
    if (m.crv != "Ed25519") {
      return MemberError("crv", absl::StrCat(Quote(m.crv),
                                             " is not supported; accepted: Ed25519 (ACME "
                                             "account keys are signature keys)"));
    }
    absl::StatusOr<std::string> x = DecodeMember("x", m.x);
    if (!x.ok()) return x.status();
    if (x->size() != 32) {
      return MemberError("x", absl::StrFormat("is %d octets; an Ed25519 public key is 32 "
                                              "(RFC 8037 section 2)",
                                              x->size()));
    }
    return absl::StrCat("{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"", m.x, "\"}");
  }
  if (m.kty == "oct") {
    return MemberError("kty", "\"oct\" is a symmetric key; an account key is a public key");
  }
  return MemberError("kty", absl::StrCat(Quote(m.kty),
                                         " is not supported; accepted: RSA, EC, "
                                         "OKP"));
}

absl::StatusOr<std::string> Sha256Thumbprint(absl::string_view canonical) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    return absl::InternalError(absl::StrCat("SHA-256: ", DrainOpenSslErrors()));
  }
  return Base64UrlNoPad(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string BnToBytes(const BIGNUM* bn, int pad_to) {
  std::string out(pad_to > 0 ? static_cast<size_t>(pad_to) : BN_num_bytes(bn), '\0');
  if (pad_to > 0) {
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), pad_to) < 0) return "";
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

absl::StatusOr<std::string> GetBnParam(const EVP_PKEY* key, const char* name, int pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM public key: cannot read ", name, " (", DrainOpenSslErrors(), ")"));
  }
  BnPtr bn(raw);
  std::string bytes = BnToBytes(bn.get(), pad_to);
  if (bytes.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("PEM public key: ", name, " is out of range"));
  }
  return bytes;
}

}  // namespace

void AppendBase64UrlNoPad(absl::string_view bytes, std::string* out) {
  // EVP_EncodeBlock writes 4 characters per 3 octets plus a NUL, and takes an
  // int length: encode in chunks that are a multiple of 3 octets (so no
  // padding appears mid-output) straight into the result.
  constexpr size_t kChunk = 3 * 16384;
  const size_t start = out->size();
  out->resize(start + (bytes.size() + 2) / 3 * 4 + 1);
  size_t written = start;
  for (size_t pos = 0; pos < bytes.size(); pos += kChunk) {
    const size_t n = std::min(kChunk, bytes.size() - pos);
    written += static_cast<size_t>(EVP_EncodeBlock(
        reinterpret_cast<unsigned char*>(out->data()) + written,
        reinterpret_cast<const unsigned char*>(bytes.data() + pos), static_cast<int>(n)));
  }
  out->resize(written);
  while (out->size() > start && out->back() == '=') out->pop_back();
  for (size_t i = start; i < out->size(); ++i) {
    char& c = (*out)[i];
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
}

std::string Base64UrlNoPad(absl::string_view bytes) {
  std::string out;
  AppendBase64UrlNoPad(bytes, &out);
  return out;
}

namespace {

// Base64UrlValue is the 6-bit value of a base64url character (-1 if none).
int Base64UrlValue(char c) { return kBase64UrlValues[static_cast<unsigned char>(c)]; }

// HasCanonicalTail: the unused low bits of the last character are zero
// (2 unused bits when length % 4 == 3, 4 when length % 4 == 2), so the text
// is the one encoding of its octets.
bool HasCanonicalTail(absl::string_view text) {
  if (text.empty()) return true;
  const int unused = static_cast<int>((text.size() * 6) % 8);
  return (Base64UrlValue(text.back()) & ((1 << unused) - 1)) == 0;
}

}  // namespace

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsBase64UrlChar(text[i])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "is not base64url: byte 0x%02X at offset %d (only A-Z a-z 0-9 - _ are allowed, no "
          "padding)",
          static_cast<unsigned char>(text[i]), i));
    }
  }
  if (text.size() % 4 == 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "is not base64url: a length of %d characters is impossible (1 mod 4)", text.size()));
  }
  if (!HasCanonicalTail(text)) {
    return absl::InvalidArgumentError(
        "is not canonical base64url: the unused low bits of the last character must be zero");
  }
  std::string std_alphabet(text);
  for (char& c : std_alphabet) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (std_alphabet.size() % 4 != 0) std_alphabet.push_back('=');
  std::string out(std_alphabet.size() / 4 * 3, '\0');
  // Chunked for the int length of EVP_DecodeBlock (multiples of 4 chars).
  constexpr size_t kChunk = 4 * 16384;
  for (size_t pos = 0; pos < std_alphabet.size(); pos += kChunk) {
    const size_t n = std::min(kChunk, std_alphabet.size() - pos);
    if (EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()) + pos / 4 * 3,
                        reinterpret_cast<const unsigned char*>(std_alphabet.data() + pos),
                        static_cast<int>(n)) < 0) {
      DrainOpenSslErrors();
      return absl::InvalidArgumentError("is not base64url");
    }
  }
  // EVP_DecodeBlock counts the padding as zero octets: keep only the real ones.
  out.resize(text.size() * 6 / 8);
  return out;
}

bool IsThumbprint(absl::string_view s) {
  // 43 characters = 258 bits for a 256-bit value: the last character's low
  // 2 bits are unused and must be zero.
  if (s.size() != kThumbprintLength) return false;
  for (char c : s) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return HasCanonicalTail(s);
}

absl::StatusOr<std::string> CanonicalJwk(absl::string_view jwk_json) {
  if (jwk_json.size() > kMaxJwkLength) {
    return absl::InvalidArgumentError(absl::StrFormat("JWK is %d octets; at most %d are accepted",
                                                      jwk_json.size(), kMaxJwkLength));
  }
  google::protobuf::Struct jwk;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(jwk_json.data(), jwk_json.size()), &jwk);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK is not a JSON object: ", std::string(parsed.message())));
  }
  const auto& fields = jwk.fields();
  // RFC 7517 section 4 / RFC 7518 section 6: these members carry private key
  // material. A VA only ever needs the public key.
  for (absl::string_view private_member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (fields.count(std::string(private_member)) > 0) {
      return MemberError(private_member,
                         "is private key material: refusing a private JWK (give the public "
                         "key only)");
    }
  }
  JwkMembers m;
  auto get = [&fields](absl::string_view name, bool required, std::string* out) -> absl::Status {
    auto it = fields.find(std::string(name));
    if (it == fields.end()) {
      return required ? MemberError(name, "is missing") : absl::OkStatus();
    }
    if (it->second.kind_case() != google::protobuf::Value::kStringValue) {
      return MemberError(name, "must be a JSON string");
    }
    *out = it->second.string_value();
    return absl::OkStatus();
  };
  absl::Status s = get("kty", true, &m.kty);
  if (!s.ok()) return s;
  if (m.kty == "RSA") {
    if (!(s = get("n", true, &m.n)).ok() || !(s = get("e", true, &m.e)).ok()) return s;
  } else if (m.kty == "EC") {
    if (!(s = get("crv", true, &m.crv)).ok() || !(s = get("x", true, &m.x)).ok() ||
        !(s = get("y", true, &m.y)).ok()) {
      return s;
    }
  } else if (m.kty == "OKP") {
    if (!(s = get("crv", true, &m.crv)).ok() || !(s = get("x", true, &m.x)).ok()) return s;
  }
  return Canonical(m);
}

absl::StatusOr<std::string> JwkThumbprint(absl::string_view jwk_json) {
  absl::StatusOr<std::string> canonical = CanonicalJwk(jwk_json);
  if (!canonical.ok()) return canonical.status();
  return Sha256Thumbprint(*canonical);
}

absl::StatusOr<std::string> PemPublicKeyToJwk(absl::string_view pem) {
  if (pem.size() > kMaxPemLength) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PEM input is %d octets; at most %d are accepted", pem.size(), kMaxPemLength));
  }
  if (absl::StrContains(pem, "PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(
        "PEM input holds a PRIVATE KEY: refusing it; give the public key (openssl pkey -pubout)");
  }
  if (!absl::StrContains(pem, "-----BEGIN PUBLIC KEY-----")) {
    return absl::InvalidArgumentError(
        "PEM input has no \"-----BEGIN PUBLIC KEY-----\" block (SubjectPublicKeyInfo)");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError(DrainOpenSslErrors());
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM public key does not parse: ", DrainOpenSslErrors()));
  }
  // Anything but whitespace after the block is refused: one file, one key.
  char rest[256];
  int n;
  while ((n = BIO_read(bio.get(), rest, sizeof(rest))) > 0) {
    for (int i = 0; i < n; ++i) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(rest[i]))) {
        return absl::InvalidArgumentError("PEM input has data after the PUBLIC KEY block");
      }
    }
  }
  DrainOpenSslErrors();  // BIO_read at EOF may leave nothing, but be sure.
  JwkMembers m;
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    absl::StatusOr<std::string> n_bytes = GetBnParam(key.get(), OSSL_PKEY_PARAM_RSA_N, 0);
    if (!n_bytes.ok()) return n_bytes.status();
    absl::StatusOr<std::string> e_bytes = GetBnParam(key.get(), OSSL_PKEY_PARAM_RSA_E, 0);
    if (!e_bytes.ok()) return e_bytes.status();
    m.kty = "RSA";
    m.n = Base64UrlNoPad(*n_bytes);
    m.e = Base64UrlNoPad(*e_bytes);
  } else if (EVP_PKEY_is_a(key.get(), "EC")) {
    char group[64];
    size_t group_len = 0;
    if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &group_len) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PEM EC public key: no named curve (explicit curve parameters are not supported; ",
          DrainOpenSslErrors(), ")"));
    }
    const Curve* curve = CurveByOpenSslName(absl::string_view(group, group_len));
    if (curve == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM EC public key on curve ", Quote(absl::string_view(group, group_len)),
                       " is not supported; accepted: P-256, P-384, P-521"));
    }
    const int size = static_cast<int>(curve->coordinate_octets);
    absl::StatusOr<std::string> x = GetBnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, size);
    if (!x.ok()) return x.status();
    absl::StatusOr<std::string> y = GetBnParam(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size);
    if (!y.ok()) return y.status();
    m.kty = "EC";
    m.crv = std::string(curve->jwk_name);
    m.x = Base64UrlNoPad(*x);
    m.y = Base64UrlNoPad(*y);
  } else if (EVP_PKEY_is_a(key.get(), "ED25519")) {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    if (EVP_PKEY_get_raw_public_key(key.get(), raw, &len) != 1 || len != sizeof(raw)) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM Ed25519 public key: ", DrainOpenSslErrors()));
    }
    m.kty = "OKP";
    m.crv = "Ed25519";
    m.x = Base64UrlNoPad(absl::string_view(reinterpret_cast<const char*>(raw), len));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "PEM public key type ",
        Quote(EVP_PKEY_get0_type_name(key.get()) != nullptr ? EVP_PKEY_get0_type_name(key.get())
                                                            : "unknown"),
        " is not supported; accepted: RSA, EC (P-256, P-384, P-521), Ed25519"));
  }
  return Canonical(m);
}

absl::StatusOr<std::string> PemPublicKeyThumbprint(absl::string_view pem) {
  absl::StatusOr<std::string> canonical = PemPublicKeyToJwk(pem);
  if (!canonical.ok()) return canonical.status();
  return Sha256Thumbprint(*canonical);
}

}  // namespace vantage::policy
