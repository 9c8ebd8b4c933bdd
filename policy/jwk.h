// Jwk: RFC 7638 JWK thumbprints of ACME account keys, and the base64url
// encoding they (and the hashed accounturi, SPEC.md 3) are written in.
//
// Supported keys are the ones ACME account keys are (RFC 8555 section 6.2,
// RFC 7518 section 3.1, RFC 8037): RSA, EC on P-256/P-384/P-521, and OKP
// Ed25519. Private keys are refused: a JWK with "d" (or any RSA private
// member) is a private key that should never have been handed to a VA.
#ifndef VANTAGE_POLICY_JWK_H_
#define VANTAGE_POLICY_JWK_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vantage::policy {

// kThumbprintLength: a SHA-256 thumbprint is 32 octets = 43 base64url chars.
inline constexpr size_t kThumbprintLength = 43;
// kMaxJwkLength bounds JWK JSON input (an RSA-8192 JWK is ~1.5 KB).
inline constexpr size_t kMaxJwkLength = 16 * 1024;
// kMaxPemLength bounds PEM input.
inline constexpr size_t kMaxPemLength = 64 * 1024;

// Base64UrlNoPad encodes `bytes` as base64url without padding (RFC 4648
// section 5, RFC 7515 section 2). OpenSSL's EVP_EncodeBlock does the
// encoding (standard alphabet, '=' padding, no line breaks - unlike
// EVP_EncodeUpdate, which wraps at 64 characters); we then translate
// '+' -> '-' and '/' -> '_' and drop the '=' padding, which is all that
// separates the two alphabets. OpenSSL has no base64url mode of its own.
std::string Base64UrlNoPad(absl::string_view bytes);

// AppendBase64UrlNoPad is Base64UrlNoPad appending to `*out`.
void AppendBase64UrlNoPad(absl::string_view bytes, std::string* out);

// Base64UrlDecode decodes strict, canonical base64url without padding: only
// A-Z a-z 0-9 '-' '_', no '=', no whitespace, a length that is not 1 mod 4,
// and zero unused bits in the last character (so that every value has
// exactly one accepted spelling). INVALID_ARGUMENT naming the rule otherwise.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// IsThumbprint: `s` is 43 canonical base64url characters, i.e. the encoding
// of a 32-octet SHA-256 value (SPEC.md 3: K is exactly this string).
bool IsThumbprint(absl::string_view s);

// CanonicalJwk returns the RFC 7638 section 3.2 form of a public JWK: only
// the required members, in lexicographic order, no whitespace, e.g.
// {"e":"AQAB","kty":"RSA","n":"..."}. It is itself a valid JWK (what the
// account store keeps). The JSON is parsed with protobuf's JSON parser into
// google.protobuf.Struct. Checks, each an INVALID_ARGUMENT naming the member:
//  - a JSON object of at most kMaxJwkLength octets with a string "kty";
//  - no private members ("d", "p", "q", "dp", "dq", "qi", "oth", "k");
//  - RSA: "n" 2048..8192 bits, "e" odd and > 1, at most 8 octets, both
//    minimal big-endian without a leading zero octet (RFC 7518 6.3.1);
//  - EC: "crv" P-256/P-384/P-521, "x" and "y" exactly 32/48/66 octets
//    (RFC 7518 6.2.1.2-3), and the point is on the curve (OpenSSL check);
//  - OKP: "crv" Ed25519 and "x" 32 octets (RFC 8037 section 2);
//  - every member value canonical base64url (Base64UrlDecode).
// Other members ("alg", "use", "kid"...) are allowed and left out.
absl::StatusOr<std::string> CanonicalJwk(absl::string_view jwk_json);

// JwkThumbprint returns the RFC 7638 SHA-256 thumbprint of a public JWK:
// Base64UrlNoPad(SHA-256(CanonicalJwk(jwk_json))). Same errors.
absl::StatusOr<std::string> JwkThumbprint(absl::string_view jwk_json);

// PemPublicKeyToJwk reads one PEM "PUBLIC KEY" block (SubjectPublicKeyInfo)
// with OpenSSL and returns its CanonicalJwk. Private keys, other PEM types,
// unsupported algorithms (RSA-PSS, Ed448, X25519, other curves) and data
// after the block are INVALID_ARGUMENT.
absl::StatusOr<std::string> PemPublicKeyToJwk(absl::string_view pem);

// PemPublicKeyThumbprint is JwkThumbprint(PemPublicKeyToJwk(pem)).
absl::StatusOr<std::string> PemPublicKeyThumbprint(absl::string_view pem);

}  // namespace vantage::policy

#endif  // VANTAGE_POLICY_JWK_H_
