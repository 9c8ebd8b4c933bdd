#include "policy/jwk.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vantage::policy {
namespace {

using ::testing::HasSubstr;

// RFC 7638 section 3.1.
constexpr char kRfc7638Jwk[] =
    R"({"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"})";
constexpr char kRfc7638Thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

TEST(JwkThumbprint, Rfc7638Section31Example) {
  absl::StatusOr<std::string> t = JwkThumbprint(kRfc7638Jwk);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, kRfc7638Thumbprint);
}

TEST(JwkThumbprint, WhitespaceOrderAndExtraMembersDoNotMatter) {
  const std::string pretty = absl::StrCat(
      "{\n  \"use\": \"sig\",\n  \"e\" : \"AQAB\",\n  \"n\": ",
      "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
      "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-"
      "65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
      "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",",
      "\n  \"kty\":\"RSA\"\n}\n");
  absl::StatusOr<std::string> t = JwkThumbprint(pretty);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, kRfc7638Thumbprint);
}

TEST(CanonicalJwk, RequiredMembersInOrder) {
  absl::StatusOr<std::string> c = CanonicalJwk(kRfc7638Jwk);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(*c, ::testing::StartsWith("{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\"0vx7ag"));
  EXPECT_THAT(*c, ::testing::EndsWith("qDKgw\"}"));
  // The canonical form is a JWK with the same thumbprint.
  EXPECT_EQ(*JwkThumbprint(*c), kRfc7638Thumbprint);
}

// RFC 8037 appendix A.2/A.3: the Ed25519 example key and its thumbprint.
TEST(JwkThumbprint, Rfc8037AppendixA3Ed25519) {
  absl::StatusOr<std::string> t = JwkThumbprint(
      R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

// Keys generated with `openssl genpkey`; the JWK members and thumbprints were
// computed independently of this library: the coordinates are the last
// octets of the DER SubjectPublicKeyInfo (`openssl pkey -pubout -outform
// DER`), the RSA modulus from `openssl rsa -pubin -modulus`, and the
// thumbprint with Python's json.dumps(sort_keys=True, separators=(',', ':'))
// + hashlib.sha256 + base64.urlsafe_b64encode.
struct KeyVector {
  std::string name;
  std::string pem;
  std::string jwk;
  std::string thumbprint;
};

const KeyVector kKeys[] = {
    {"P256",
     "-----BEGIN PUBLIC KEY-----\n"
     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEny9qZrBR3g24xzw9jc1jU2KQN1Bt\n"
     "CvAUSpQh5rCiME7butwYnEcOroEoBaz2qGdhmp6XPBdJl9Gi/MIB9ca1Wg==\n"
     "-----END PUBLIC KEY-----\n",
     R"({"crv":"P-256","kty":"EC","x":"ny9qZrBR3g24xzw9jc1jU2KQN1BtCvAUSpQh5rCiME4","y":"27rcGJxHDq6BKAWs9qhnYZqelzwXSZfRovzCAfXGtVo"})",
     "D0M2RT2E9nhOmcnkG-tr4fYcRdZP2E6DKZjfL5N1mVI"},
    {"P384",
     "-----BEGIN PUBLIC KEY-----\n"
     "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE7WOabYrmtu/LzAg6vmLBqKFSmDBjmRRm\n"
     "kUk5vUVb2e01AyAI/7NoheZFt3T3k171EbzGOtC/A0gffqIjapJW7W4QDZo+1Z6q\n"
     "BC8uY0YRNal9P3ogtfSvF6lgjZapNSdY\n"
     "-----END PUBLIC KEY-----\n",
     R"({"crv":"P-384","kty":"EC","x":"7WOabYrmtu_LzAg6vmLBqKFSmDBjmRRmkUk5vUVb2e01AyAI_7NoheZFt3T3k171","y":"EbzGOtC_A0gffqIjapJW7W4QDZo-1Z6qBC8uY0YRNal9P3ogtfSvF6lgjZapNSdY"})",
     "fZ2O1P8mTod4hS3EnwMEjuP9IfON8eX7HlckQnXHweM"},
    {"P521",
     "-----BEGIN PUBLIC KEY-----\n"
     "MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQBow5gbtljLKOhEUT42Bgwj0h0F2vs\n"
     "6Zr29p9otDDwMYP6M7fMDKkZBloHTU3292ijqUFyBvrsxkssBalo6cDhkLcBkW3f\n"
     "G8sKuoqA16S6M0Jsp9UdDFGQRLDvzUD5MeOmS0+ELAjzm2P65oa9nihqyG9DSW99\n"
     "D3pXXoMQgyVxmWuxxDE=\n"
     "-----END PUBLIC KEY-----\n",
     R"({"crv":"P-521","kty":"EC","x":"AaMOYG7ZYyyjoRFE-NgYMI9IdBdr7Oma9vafaLQw8DGD-jO3zAypGQZaB01N9vdoo6lBcgb67MZLLAWpaOnA4ZC3","y":"AZFt3xvLCrqKgNekujNCbKfVHQxRkESw781A-THjpktPhCwI85tj-uaGvZ4oashvQ0lvfQ96V16DEIMlcZlrscQx"})",
     "ybamR-Wpo0sv4QjeoUwiRMdtR4-gAW-W8PY1CypE0as"},
    {"Ed25519",
     "-----BEGIN PUBLIC KEY-----\n"
     "MCowBQYDK2VwAyEAF1OlX1HD0ynCRUuxgArDNkAU+LFaUTS2JIjvzL66j8Y=\n"
     "-----END PUBLIC KEY-----\n",
     R"({"crv":"Ed25519","kty":"OKP","x":"F1OlX1HD0ynCRUuxgArDNkAU-LFaUTS2JIjvzL66j8Y"})",
     "L_j090ywHMcVuYmgmlI-vJQwCKKpLBGBSwlI_3NLvEs"},
    {"Rsa2048",
     "-----BEGIN PUBLIC KEY-----\n"
     "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAutp8Z6axSrwayBIgBSfZ\n"
     "HjPidB6Dui+AHCcIjQ32q1EieM9e9sovpycgx9/ipvD4koy9wpsv33RbCkpAPHa4\n"
     "ZmC8umiWCJeS0CvdJN3lDF0W666eUjORlVCgFfamzrcx2nMBozxc/YVLkqGfyHLS\n"
     "+Wk4f87rT69ld25QuwFcly2ZeAz2P91NaNQGl1mlfnjY/CmqydQpk59O6W5PfMGx\n"
     "L93a2QwKnq0xZdX1lW6KVN8hz7GSWpBPsqIcUid4082OY1iZ3y1IhNEcYXJ5J3jE\n"
     "L4R3whudNTZ7gshKf+bW5Ggyue+ibsFg3O/9ED9uDYeoxfEBj8DC8lPFM49rDivQ\n"
     "CwIDAQAB\n"
     "-----END PUBLIC KEY-----\n",
     R"({"e":"AQAB","kty":"RSA","n":"utp8Z6axSrwayBIgBSfZHjPidB6Dui-AHCcIjQ32q1EieM9e9sovpycgx9_ipvD4koy9wpsv33RbCkpAPHa4ZmC8umiWCJeS0CvdJN3lDF0W666eUjORlVCgFfamzrcx2nMBozxc_YVLkqGfyHLS-Wk4f87rT69ld25QuwFcly2ZeAz2P91NaNQGl1mlfnjY_CmqydQpk59O6W5PfMGxL93a2QwKnq0xZdX1lW6KVN8hz7GSWpBPsqIcUid4082OY1iZ3y1IhNEcYXJ5J3jEL4R3whudNTZ7gshKf-bW5Ggyue-ibsFg3O_9ED9uDYeoxfEBj8DC8lPFM49rDivQCw"})",
     "Z5FoK_o8OSI9Jd6Epw4j_PjF6j8m-Eww8oXfuNYettc"},
};

class KeyVectors : public ::testing::TestWithParam<KeyVector> {};

TEST_P(KeyVectors, JwkThumbprintMatchesIndependentComputation) {
  absl::StatusOr<std::string> t = JwkThumbprint(GetParam().jwk);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, GetParam().thumbprint);
  EXPECT_TRUE(IsThumbprint(*t));
}

TEST_P(KeyVectors, PemToJwkGivesTheCanonicalJwk) {
  absl::StatusOr<std::string> jwk = PemPublicKeyToJwk(GetParam().pem);
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  EXPECT_EQ(*jwk, GetParam().jwk);  // The vectors are written canonically.
  absl::StatusOr<std::string> t = PemPublicKeyThumbprint(GetParam().pem);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, GetParam().thumbprint);
}

TEST_P(KeyVectors, ChangingOneCharacterChangesOrBreaksIt) {
  std::string jwk = GetParam().jwk;
  // Flip a character in the middle of the last member value.
  const size_t pos = jwk.size() - 10;
  jwk[pos] = jwk[pos] == 'A' ? 'B' : 'A';
  absl::StatusOr<std::string> t = JwkThumbprint(jwk);
  if (t.ok()) {
    EXPECT_NE(*t, GetParam().thumbprint);
  }
}

INSTANTIATE_TEST_SUITE_P(Keys, KeyVectors, ::testing::ValuesIn(kKeys),
                         [](const ::testing::TestParamInfo<KeyVector>& info) {
                           return info.param.name;
                         });

// A fresh key every run, converted by two routes: OpenSSL's EVP parameters
// (PemPublicKeyToJwk) and the raw point at the end of the DER encoding
// produced by the openssl CLI.
std::string RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(PemPublicKeyThumbprint, FreshP256KeyTwoRoutes) {
  const char* tmp = getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string key = dir + "/fresh.key";
  RunCommand("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + key +
             " 2>/dev/null");
  const std::string pem = RunCommand("openssl pkey -in " + key + " -pubout 2>/dev/null");
  const std::string der =
      RunCommand("openssl pkey -in " + key + " -pubout -outform DER 2>/dev/null");
  ASSERT_EQ(der.size(), 91u) << "openssl CLI failed";
  const std::string point = der.substr(der.size() - 65);
  ASSERT_EQ(point[0], '\x04');
  const std::string jwk =
      absl::StrCat(R"({"kty":"EC","crv":"P-256","x":")", Base64UrlNoPad(point.substr(1, 32)),
                   R"(","y":")", Base64UrlNoPad(point.substr(33, 32)), R"("})");
  absl::StatusOr<std::string> from_jwk = JwkThumbprint(jwk);
  absl::StatusOr<std::string> from_pem = PemPublicKeyThumbprint(pem);
  ASSERT_TRUE(from_jwk.ok()) << from_jwk.status();
  ASSERT_TRUE(from_pem.ok()) << from_pem.status();
  EXPECT_EQ(*from_jwk, *from_pem);
}

struct BadJwk {
  std::string name;
  std::string json;
  std::string error;
};

const std::string kP256X = "ny9qZrBR3g24xzw9jc1jU2KQN1BtCvAUSpQh5rCiME4";
const std::string kP256Y = "27rcGJxHDq6BKAWs9qhnYZqelzwXSZfRovzCAfXGtVo";

std::string Ec(const std::string& crv, const std::string& x, const std::string& y) {
  return absl::StrCat(R"({"kty":"EC","crv":")", crv, R"(","x":")", x, R"(","y":")", y, R"("})");
}

class JwkRejects : public ::testing::TestWithParam<BadJwk> {};

TEST_P(JwkRejects, WithMemberAndRule) {
  absl::StatusOr<std::string> t = JwkThumbprint(GetParam().json);
  ASSERT_FALSE(t.ok()) << "accepted: " << *t;
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Table, JwkRejects,
    ::testing::Values(
        BadJwk{"Empty", "", "not a JSON object"}, BadJwk{"NotJson", "kty=RSA", "not a JSON object"},
        BadJwk{"Array", "[1,2]", "not a JSON object"},
        BadJwk{"Truncated", R"({"kty":"OKP","crv":"Ed25519")", "not a JSON object"},
        BadJwk{"NoKty", R"({"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
               "\"kty\": is missing"},
        BadJwk{"KtyNotString", R"({"kty":1})", "\"kty\": must be a JSON string"},
        BadJwk{"UnknownKty", R"({"kty":"DSA"})", "\"kty\": \"DSA\" is not supported"},
        BadJwk{"Symmetric", R"({"kty":"oct","k":"AAAA"})", "\"k\": is private key material"},
        BadJwk{
            "PrivateOkp",
            R"({"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
            "\"d\": is private key material"},
        BadJwk{"PrivateEc", R"({"kty":"EC","crv":"P-256","d":"AA","x":"AA","y":"AA"})",
               "refusing a private JWK"},
        BadJwk{"PrivateRsaPrime", R"({"kty":"RSA","n":"AQAB","e":"AQAB","p":"AQ"})",
               "\"p\": is private"},
        BadJwk{"RsaMissingE", R"({"kty":"RSA","n":"AQAB"})", "\"e\": is missing"},
        BadJwk{"RsaTooSmall", R"({"kty":"RSA","n":"AQAB","e":"AQAB"})", "17 bits"},
        BadJwk{"RsaLeadingZero",
               absl::StrCat(R"({"kty":"RSA","e":"AQAB","n":"AA)", std::string(342, 'A'), R"("})"),
               "leading zero octet"},
        BadJwk{"RsaEvenExponent",
               absl::StrCat(R"({"kty":"RSA","e":"AQAA","n":"wA)", std::string(340, 'A'), R"("})"),
               "\"e\": RSA public exponent"},
        BadJwk{"RsaNumberMember", R"({"kty":"RSA","e":65537,"n":"AQAB"})",
               "\"e\": must be a JSON string"},
        BadJwk{
            "Padding",
            R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo="})",
            "0x3D"},
        BadJwk{"StandardAlphabet",
               R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
               "0x2F"},
        BadJwk{
            "Whitespace",
            R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapi MlrwIaaPcHURo"})",
            "0x20"},
        BadJwk{"NonCanonicalBits",
               R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURp"})",
               "not canonical"},
        BadJwk{"OkpShort",
               R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcH"})",
               "\"x\": is 30 octets"},
        BadJwk{"OkpX25519",
               R"({"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})",
               "\"crv\": \"X25519\" is not supported"},
        BadJwk{"EcUnknownCurve", Ec("secp256k1", kP256X, kP256Y), "\"crv\": \"secp256k1\""},
        BadJwk{"EcMissingY", R"({"kty":"EC","crv":"P-256","x":"AA"})", "\"y\": is missing"},
        BadJwk{"EcShortX", Ec("P-256", kP256X.substr(0, 40), kP256Y), "\"x\": is 30 octets"},
        BadJwk{"EcWrongCurveLength", Ec("P-384", kP256X, kP256Y),
               "P-384 coordinates are exactly 48"},
        BadJwk{"EcNotOnCurve", Ec("P-256", kP256X, kP256X), "not a"},
        BadJwk{"EcEmptyMember", Ec("P-256", "", kP256Y), "\"x\": is empty"},
        BadJwk{"TooLarge", std::string(kMaxJwkLength + 1, ' '), "at most 16384"}),
    [](const ::testing::TestParamInfo<BadJwk>& info) { return info.param.name; });

struct BadPem {
  std::string name;
  std::string pem;
  std::string error;
};

class PemRejects : public ::testing::TestWithParam<BadPem> {};

TEST_P(PemRejects, WithRule) {
  absl::StatusOr<std::string> t = PemPublicKeyThumbprint(GetParam().pem);
  ASSERT_FALSE(t.ok()) << "accepted: " << *t;
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(t.status().message()), HasSubstr(GetParam().error));
}

const std::string kEdPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAF1OlX1HD0ynCRUuxgArDNkAU+LFaUTS2JIjvzL66j8Y=\n"
    "-----END PUBLIC KEY-----\n";

INSTANTIATE_TEST_SUITE_P(
    Table, PemRejects,
    ::testing::Values(
        BadPem{"Empty", "", "no \"-----BEGIN PUBLIC KEY-----\""},
        BadPem{"PrivateKey",
               // A throwaway Ed25519 key generated for this test only.
               "-----BEGIN PRIVATE KEY-----\n"
               "MC4CAQAwBQYDK2VwBCIEIHNx1H0F8ygvNMd2mpxgWzjv2ZbEuDPZ4i1B8tahqTJV\n"
               "-----END PRIVATE KEY-----\n",
               "PRIVATE KEY"},
        BadPem{"Certificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
               "no \"-----BEGIN PUBLIC KEY-----\""},
        BadPem{"CorruptBase64", absl::StrReplaceAll(kEdPem, {{"MCow", "MCo*"}}), "does not parse"},
        BadPem{"Truncated", kEdPem.substr(0, 60), "does not parse"},
        BadPem{"TwoKeys", kEdPem + kEdPem, "data after"},
        BadPem{"TrailingGarbage", kEdPem + "junk\n", "data after"},
        // A P-256 key with the point's last octet changed: not on the curve.
        BadPem{"EcNotOnCurve",
               "-----BEGIN PUBLIC KEY-----\n"
               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEny9qZrBR3g24xzw9jc1jU2KQN1Bt\n"
               "CvAUSpQh5rCiME7butwYnEcOroEoBaz2qGdhmp6XPBdJl9Gi/MIB9ca1Ww==\n"
               "-----END PUBLIC KEY-----\n",
               ""}),
    [](const ::testing::TestParamInfo<BadPem>& info) { return info.param.name; });

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlNoPad(""), "");
  EXPECT_EQ(Base64UrlNoPad("f"), "Zg");
  EXPECT_EQ(Base64UrlNoPad("fo"), "Zm8");
  EXPECT_EQ(Base64UrlNoPad("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlNoPad("\xfb\xff\xbf"), "-_-_");
  EXPECT_EQ(Base64UrlNoPad(std::string(100000, '\xff')).size(), 133334u);
}

TEST(Base64Url, DecodesStrictly) {
  EXPECT_EQ(*Base64UrlDecode("-_-_"), "\xfb\xff\xbf");
  EXPECT_EQ(*Base64UrlDecode("Zg"), "f");
  EXPECT_EQ(*Base64UrlDecode(""), "");
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());
  EXPECT_FALSE(Base64UrlDecode("Zh").ok());  // non-zero unused bits
  EXPECT_FALSE(Base64UrlDecode("Z").ok());   // 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("+/+/").ok());
  const std::string big(100000, '\x5a');
  EXPECT_EQ(*Base64UrlDecode(Base64UrlNoPad(big)), big);
}

TEST(IsThumbprint, Shape) {
  EXPECT_TRUE(IsThumbprint(kRfc7638Thumbprint));
  EXPECT_FALSE(IsThumbprint(""));
  EXPECT_FALSE(IsThumbprint(std::string(kRfc7638Thumbprint) + "A"));
  EXPECT_FALSE(IsThumbprint(std::string(kRfc7638Thumbprint).substr(0, 42)));
  EXPECT_FALSE(IsThumbprint(std::string(kRfc7638Thumbprint) + "="));
  EXPECT_FALSE(IsThumbprint("NzbLsXh8uDCcd+6MNwXF4W/7noWXFZAfHkxZsRGC9Xs"));
  // 43rd character with non-zero unused bits.
  EXPECT_FALSE(IsThumbprint("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xt"));
}

}  // namespace
}  // namespace vantage::policy
