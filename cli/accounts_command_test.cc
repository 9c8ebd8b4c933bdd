// Tests of `vantagectl accounts`: in process (RunAccountsCommand, pinned
// clock) against a real SQLite file and a real PostgreSQL server, and through
// the built vantagectl binary.
#include "cli/accounts_command.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "cli/test_process.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "policy/jwk.h"
#include "tests/pg/postgres_server.h"

namespace vantage::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// RFC 7638 section 3.1 example key and its thumbprint (testdata/README.md).
constexpr char kRfcJwk[] =
    R"({"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"})";
constexpr char kRfcThumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
constexpr char kUrl[] = "https://ca.example/acct/123";

std::string TempPath(absl::string_view name) {
  static std::atomic<int> counter{0};
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/cli_", counter++, "_", name);
}

std::string WriteFile(absl::string_view name, absl::string_view content) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// NewPublicKeyPem makes a fresh key ("EC" P-256 or "ED25519") and returns
// its public half as PEM (SubjectPublicKeyInfo), as `openssl pkey -pubout`
// writes it.
std::string NewPublicKeyPem(const char* type = "EC") {
  EVP_PKEY* key = absl::string_view(type) == "EC"
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

struct Result {
  int code;
  std::string out;
  std::string err;
};

class AccountsCommandTest : public ::testing::Test {
 protected:
  AccountsCommandTest()
      : clock_(absl::FromCivil(absl::CivilSecond(2026, 11, 29, 5, 6, 7), absl::UTCTimeZone()) +
               absl::Microseconds(250)),
        location_("sqlite:" + TempPath("accounts.db")) {}

  Result Run(std::vector<std::string> args) {
    std::ostringstream out;
    std::ostringstream err;
    const int code = RunAccountsCommand(args, clock_, out, err);
    return {code, out.str(), err.str()};
  }

  // Show runs `show` and parses its JSON.
  google::protobuf::Struct Show(const std::string& location) {
    Result r = Run({"show", "--accounts=" + location, std::string("--account-url=") + kUrl});
    EXPECT_EQ(r.code, 0) << r.err;
    google::protobuf::Struct json;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &json).ok()) << r.out;
    return json;
  }

  common::FakeClock clock_;
  std::string location_;
};

const google::protobuf::Value& Field(const google::protobuf::Struct& s, const std::string& name) {
  static const google::protobuf::Value* missing = new google::protobuf::Value();
  auto it = s.fields().find(name);
  return it == s.fields().end() ? *missing : it->second;
}

TEST_F(AccountsCommandTest, AddRotateDeactivateShowWithJwkAndPem) {
  const std::string jwk = WriteFile("rfc.jwk", kRfcJwk);
  const std::string pem_text = NewPublicKeyPem();
  const std::string pem = WriteFile("ec.pem", pem_text);
  absl::StatusOr<std::string> pem_thumbprint = policy::PemPublicKeyThumbprint(pem_text);
  ASSERT_TRUE(pem_thumbprint.ok()) << pem_thumbprint.status();

  Result add =
      Run({"add", "--accounts=" + location_, std::string("--account-url=") + kUrl, "--jwk=" + jwk});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_THAT(add.out, HasSubstr(kRfcThumbprint));
  EXPECT_THAT(add.err, IsEmpty());

  google::protobuf::Struct shown = Show(location_);
  EXPECT_EQ(Field(shown, "url").string_value(), kUrl);
  EXPECT_EQ(Field(shown, "status").string_value(), "valid");
  EXPECT_EQ(Field(shown, "created").string_value(), "2026-11-29T05:06:07.00025Z");
  ASSERT_EQ(Field(shown, "keys").list_value().values_size(), 1);
  const auto& first = Field(shown, "keys").list_value().values(0).struct_value();
  EXPECT_EQ(Field(first, "thumbprint").string_value(), kRfcThumbprint);
  EXPECT_TRUE(Field(first, "current").bool_value());
  EXPECT_EQ(Field(first, "retired").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(Field(Field(first, "jwk").struct_value(), "kty").string_value(), "RSA");

  clock_.Advance(absl::Hours(1));
  Result rotate = Run({"rotate-key", "--accounts=" + location_,
                       std::string("--account-url=") + kUrl, "--public-key=" + pem});
  ASSERT_EQ(rotate.code, 0) << rotate.err;
  EXPECT_THAT(rotate.out, HasSubstr(*pem_thumbprint));

  shown = Show(location_);
  ASSERT_EQ(Field(shown, "keys").list_value().values_size(), 2);
  const auto& now = Field(shown, "keys").list_value().values(0).struct_value();
  const auto& old = Field(shown, "keys").list_value().values(1).struct_value();
  EXPECT_EQ(Field(now, "thumbprint").string_value(), *pem_thumbprint);
  EXPECT_TRUE(Field(now, "current").bool_value());
  EXPECT_EQ(Field(Field(now, "jwk").struct_value(), "crv").string_value(), "P-256");
  EXPECT_EQ(Field(old, "thumbprint").string_value(), kRfcThumbprint);
  EXPECT_FALSE(Field(old, "current").bool_value());
  EXPECT_EQ(Field(old, "retired").string_value(), "2026-11-29T06:06:07.00025Z");

  Result deactivate =
      Run({"deactivate", "--accounts=" + location_, std::string("--account-url=") + kUrl});
  ASSERT_EQ(deactivate.code, 0) << deactivate.err;
  EXPECT_EQ(Field(Show(location_), "status").string_value(), "deactivated");
}

TEST_F(AccountsCommandTest, StoreRefusalsExitOneNamingTheProblem) {
  const std::string jwk = WriteFile("rfc.jwk", kRfcJwk);
  const std::string pem = WriteFile("ec.pem", NewPublicKeyPem());
  const std::string url = std::string("--account-url=") + kUrl;
  ASSERT_EQ(Run({"add", "--accounts=" + location_, url, "--jwk=" + jwk}).code, 0);
  const std::string missing_file = TempPath("missing.db");
  struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {"add twice",
       {"add", "--accounts=" + location_, url, "--public-key=" + pem},
       "already exists"},
      {"rotate to the same key",
       {"rotate-key", "--accounts=" + location_, url, "--jwk=" + jwk},
       "already had the key"},
      {"show an unknown account",
       {"show", "--accounts=" + location_, "--account-url=https://ca.example/acct/999"},
       "no account with URL https://ca.example/acct/999"},
      {"deactivate in a missing file",
       {"deactivate", "--accounts=sqlite:" + missing_file, url},
       "does not exist"},
      {"unreachable PostgreSQL",
       {"show", "--accounts=postgresql://va:Pa55word@127.0.0.1:1/accounts", url},
       "va:REDACTED@127.0.0.1:1"},
  };
  for (const Case& c : cases) {
    Result r = Run(c.args);
    EXPECT_EQ(r.code, 1) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.name;
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("Pa55word"))) << c.name;
    EXPECT_THAT(r.out, IsEmpty()) << c.name;
  }
  struct stat st;
  EXPECT_NE(stat(missing_file.c_str(), &st), 0) << "deactivate created a store file";
  // The deactivation then rotation refusal (RFC 8555 7.1.6).
  ASSERT_EQ(Run({"deactivate", "--accounts=" + location_, url}).code, 0);
  Result rotate = Run({"rotate-key", "--accounts=" + location_, url, "--public-key=" + pem});
  EXPECT_EQ(rotate.code, 1);
  EXPECT_THAT(rotate.err, HasSubstr("is deactivated"));
}

TEST_F(AccountsCommandTest, UsageErrorsExitTwoNamingTheOption) {
  const std::string jwk = WriteFile("rfc.jwk", kRfcJwk);
  const std::string pem = WriteFile("ec.pem", NewPublicKeyPem());
  const std::string private_jwk =
      WriteFile("private.jwk", R"({"kty":"EC","crv":"P-256","x":"a","y":"b","d":"secret"})");
  const std::string not_pem = WriteFile("not.pem", "hello");
  const std::string url = std::string("--account-url=") + kUrl;
  const std::string accounts = "--accounts=" + location_;
  struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {"no action", {}, "missing action"},
      {"unknown action", {"remove", accounts, url}, "unknown action 'remove'"},
      {"no --accounts", {"show", url}, "--accounts is required"},
      {"no --account-url", {"show", accounts}, "--account-url is required"},
      {"empty --account-url", {"show", accounts, "--account-url="}, "--account-url is required"},
      {"bad --account-url", {"show", accounts, "--account-url=https://ca.example/a b"},
       "--account-url: account URL has byte 0x20"},
      {"no key for add", {"add", accounts, url}, "exactly one of --jwk=FILE or --public-key"},
      {"two keys for add", {"add", accounts, url, "--jwk=" + jwk, "--public-key=" + pem},
       "exactly one of --jwk=FILE or --public-key"},
      {"key for deactivate", {"deactivate", accounts, url, "--jwk=" + jwk},
       "unknown option --jwk"},
      {"unknown option", {"show", accounts, url, "--verbose=1"}, "unknown option --verbose"},
      {"option twice", {"show", accounts, accounts, url}, "--accounts"},
      {"option without value", {"show", url, "--accounts"}, "--accounts"},
      {"positional argument", {"show", accounts, url, "extra"}, "unexpected argument 'extra'"},
      {"unreadable key file", {"add", accounts, url, "--jwk=/nonexistent/key.jwk"},
       "--jwk=/nonexistent/key.jwk"},
      {"private JWK", {"add", accounts, url, "--jwk=" + private_jwk}, "--jwk="},
      {"not PEM", {"add", accounts, url, "--public-key=" + not_pem}, "--public-key="},
      {"unknown store scheme", {"show", "--accounts=mysql://db/a", url}, "--accounts: "},
  };
  for (const Case& c : cases) {
    Result r = Run(c.args);
    EXPECT_EQ(r.code, 2) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.name;
    EXPECT_THAT(r.out, IsEmpty()) << c.name;
  }
  // Nothing was written by any of them.
  struct stat st;
  EXPECT_NE(stat(location_.substr(7).c_str(), &st), 0);
}

TEST_F(AccountsCommandTest, HelpPrintsUsageAndExitsZero) {
  Result r = Run({"help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: vantagectl accounts add"));
  EXPECT_THAT(r.out, HasSubstr("--public-key=PEM_FILE"));
  EXPECT_EQ(AccountsCommand().name, "accounts");
  EXPECT_EQ(AccountsCommand().usage, r.out);
}

TEST_F(AccountsCommandTest, WorksAgainstPostgres) {
  auto server = pg::PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << "cannot start PostgreSQL for the test: " << server.status();
  const std::string location = (*server)->uri();
  const std::string jwk = WriteFile("rfc.jwk", kRfcJwk);
  Result add =
      Run({"add", "--accounts=" + location, std::string("--account-url=") + kUrl, "--jwk=" + jwk});
  ASSERT_EQ(add.code, 0) << add.err;
  Result rotate = Run({"rotate-key", "--accounts=" + location, std::string("--account-url=") + kUrl,
                       "--public-key=" + WriteFile("ec.pem", NewPublicKeyPem())});
  ASSERT_EQ(rotate.code, 0) << rotate.err;
  google::protobuf::Struct shown = Show(location);
  ASSERT_EQ(Field(shown, "keys").list_value().values_size(), 2);
  EXPECT_EQ(Field(Field(shown, "keys").list_value().values(1).struct_value(), "thumbprint")
                .string_value(),
            kRfcThumbprint);
  EXPECT_EQ(Field(shown, "created").string_value(), "2026-11-29T05:06:07.00025Z");
}

// --- through the built binary ---

constexpr char kBinary[] = "cli/vantagectl";

TEST(VantagectlAccountsTest, ManagesAnAccountThroughItsLifecycle) {
  const std::string accounts = "--accounts=sqlite:" + TempPath("binary.db");
  const std::string url = std::string("--account-url=") + kUrl;
  const std::string pem_text = NewPublicKeyPem("ED25519");
  absl::StatusOr<std::string> pem_thumbprint = policy::PemPublicKeyThumbprint(pem_text);
  ASSERT_TRUE(pem_thumbprint.ok()) << pem_thumbprint.status();
  const std::string pem = "--public-key=" + WriteFile("account.pem", pem_text);
  const std::string jwk = "--jwk=" + WriteFile("account.jwk", kRfcJwk);

  ProcessResult r = RunProcess(kBinary, {"accounts", "add", accounts, url, pem});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(*pem_thumbprint));
  r = RunProcess(kBinary, {"accounts", "rotate-key", accounts, url, jwk});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kRfcThumbprint));
  r = RunProcess(kBinary, {"accounts", "deactivate", accounts, url});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = RunProcess(kBinary, {"accounts", "show", accounts, url});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  google::protobuf::Struct shown;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &shown).ok()) << r.out;
  EXPECT_EQ(Field(shown, "url").string_value(), kUrl);
  EXPECT_EQ(Field(shown, "status").string_value(), "deactivated");
  const auto& keys = Field(shown, "keys").list_value();
  ASSERT_EQ(keys.values_size(), 2);
  EXPECT_EQ(Field(keys.values(0).struct_value(), "thumbprint").string_value(), kRfcThumbprint);
  EXPECT_TRUE(Field(keys.values(0).struct_value(), "current").bool_value());
  EXPECT_EQ(Field(keys.values(1).struct_value(), "thumbprint").string_value(), *pem_thumbprint);
  EXPECT_FALSE(Field(keys.values(1).struct_value(), "current").bool_value());
  EXPECT_EQ(Field(Field(keys.values(1).struct_value(), "jwk").struct_value(), "crv").string_value(),
            "Ed25519");

  // Exit codes: 1 when the store refuses, 2 for a usage error.
  r = RunProcess(kBinary, {"accounts", "rotate-key", accounts, url, pem});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("is deactivated"));
  r = RunProcess(kBinary,
                 {"accounts", "show", accounts, "--account-url=https://ca.example/acct/9"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no account with URL https://ca.example/acct/9"));
  r = RunProcess(kBinary, {"accounts", "show", url});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--accounts is required"));
}

TEST(VantagectlAccountsTest, IsListedInHelp) {
  ProcessResult r = RunProcess(kBinary, {"help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: vantagectl accounts add"));
  r = RunProcess(kBinary, {"help", "accounts"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--public-key=PEM_FILE"));
}

}  // namespace
}  // namespace vantage::cli
