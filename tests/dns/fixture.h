// DnsFixture: the project's DNS fixture for tests - real knotd instances
// serving a private DNSSEC-signed hierarchy (root ".", TLD "test.", customer
// zones) on port 53 of loopback-routed addresses, started and stopped by the
// test itself.
//
//   // main(): vantage::harness::EnterPrivateNetworkNamespace() (or link
//   // //tests/harness:netns_gtest_main) - the servers bind 127.53.x.y:53.
//   ASSERT_OK_AND_ASSIGN(auto dns, DnsFixture::Start());
//   v1::ResolverConfig config = dns->resolver_config();   // for an observer
//   dns->SetTxt("_validation-persist.new.example.test", {{"ca.example; ..."}});
//   dns->StopInstance("auth");  ...  dns->StartInstance("auth");
//
// The zones, names and data are described in tests/dns/fixture.sh (which
// generates them) and summarized by the constants below. Secure zones are
// signed by knot on load and re-signed on every update; the bogus variants
// are pre-signed with ldns-signzone and served verbatim.
//
// Instances: "infra" (root + test., on <infra_prefix>.1/.2), "auth" (every
// customer zone, on <auth_prefix>.1-.10), and optionally "attacker" (forged,
// unsigned example.test and insecure.test on attacker_address()).
#ifndef VANTAGE_TESTS_DNS_FIXTURE_H_
#define VANTAGE_TESTS_DNS_FIXTURE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/config.pb.h"
#include "tests/harness/subprocess.h"

namespace vantage::dnstest {

// The zones of the fixture and what a validating resolver must see there.
// Query names are `_validation-persist.<fqdn>` unless stated otherwise.
inline constexpr char kSecureZone[] = "example.test";     // secure
inline constexpr char kSecondZone[] = "second.test";      // secure
inline constexpr char kInsecureZone[] = "insecure.test";  // unsigned
inline constexpr char kNoDsZone[] = "nods.test";          // signed, no DS
inline constexpr char kBogusZone[] = "bogus.test";        // wrong DS
inline constexpr char kExpiredZone[] = "expired.test";    // RRSIGs of 2020
inline constexpr char kTamperedZone[] = "tampered.test";  // edited after signing
inline constexpr char kNoSigZone[] = "nosig.test";        // TXT RRSIG removed
inline constexpr char kLameZone[] = "lame.test";          // nobody answers
inline constexpr char kLeafZone[] = "leaf.test";          // t<N> leaf names

// Data of the big TXT RRset (_validation-persist.big.example.test): 10 RRs,
// RR i holding one 200-octet string "big-<i>-xxx...x". Together > 1232
// octets, so a UDP answer is truncated (TC=1) and resolvers retry over TCP.
inline constexpr int kBigTxtRecords = 10;
std::string BigTxtString(int i);

// AccountRecord returns "ca.example; accounturi=https://ca.example/acct/<tag>",
// the shape of the fixture's _validation-persist records: tag "1" at
// example.test, "2" at insecure.test, the zone's first label at bogus,
// expired, nods and nosig.test ("EVIL" as served by tampered.test),
// "second" at target.second.test, "leaf" in leaf.test, "ATTACKER" from the
// attacker.
std::string AccountRecord(absl::string_view tag);

class DnsFixture {
 public:
  struct Options {
    // Working directory (keys, zones, logs, client files); wiped at start.
    // Default: a fresh <TestTempDir()>/dns-fixture.XXXXXX, so fixtures of
    // programs running at the same time (benchmarks under `bazel run` share
    // /tmp) never clobber each other; removed at destruction unless it is
    // under $TEST_TMPDIR (kept there for the test's logs).
    std::string dir;
    // First three octets of the root/TLD servers and of the customer-zone
    // servers. The lab uses 10.53.0 / 10.53.1.
    std::string infra_prefix = "127.53.0";
    std::string auth_prefix = "127.53.1";
    // Forged-zone server; default <first two octets of auth_prefix>.9.1.
    std::string attacker_address;
    // TTL of most records (the big RRset, CAA, most TXT). Update tests use
    // their own short TTLs (SetTxt's ttl) or _validation-persist.short
    // (TTL 2). Negative answers expire after 5 s (SOA minimum).
    int ttl_seconds = 60;
    // Number of pre-populated leaf names _validation-persist.t<N>.leaf.test
    // (N = 0 .. leaf_names-1). Benchmarks want many (100000 takes ~12 s to
    // sign); knot also serves a wildcard *.w.leaf.test.
    int leaf_names = 100;
    // The TXT value of every leaf name (the t<N> names and the *.w
    // wildcard): one character-string of printable ASCII, at most 255
    // octets. Empty: AccountRecord("leaf") (a raw URL, malformed for a VA in
    // hashed mode). Benchmarks of the VA set a record that is valid for
    // their test account in every domain (the domain-independent form,
    // SPEC.md 3), so every leaf miss is a VALID validation.
    std::string leaf_record;
    // Named network namespace the knotd processes (and knsupdate/kdig) run
    // in; empty: the caller's.
    std::string netns;
    // Bound on start-up (prepare + knotd start + signing).
    absl::Duration start_timeout = absl::Seconds(120);
  };

  // Start writes keys, zones and configs (tests/dns/fixture.sh prepare),
  // forks the knotd instances and waits until every zone answers (signed
  // zones with an RRSIG). Errors carry the knotd log tail.
  static absl::StatusOr<std::unique_ptr<DnsFixture>> Start(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<DnsFixture>> Start() {
    return Start(Options());
  }

  DnsFixture(const DnsFixture&) = delete;
  DnsFixture& operator=(const DnsFixture&) = delete;
  // Kills every instance (SIGKILL: the directory is disposable).
  ~DnsFixture();

  const std::string& dir() const { return dir_; }
  // Client files: root hints pointing at the private root, and its DS.
  std::string root_hints_file() const;
  std::string trust_anchor_file() const;
  // An unbound.conf with the same settings (for ubcheck-style tools).
  std::string unbound_conf_file() const;
  // A ResolverConfig for an observer: trust anchor + root hints, loopback
  // servers allowed, the built-in "test." local zone removed, dead servers
  // given up after 500 ms (infra_cache_max_rtt_ms).
  v1::ResolverConfig resolver_config() const;

  // Addresses: root server (infra .1), TLD server (infra .2), the server of
  // a customer zone (e.g. "example.test" -> auth .1), the attacker.
  std::string root_address() const { return options_.infra_prefix + ".1"; }
  std::string auth_address(int last_octet) const;
  std::string attacker_address() const { return attacker_address_; }
  absl::StatusOr<std::string> ServerOf(absl::string_view zone) const;

  // Runtime changes through knsupdate (knot re-signs at once; a resolver
  // sees them once its cached copy's TTL has run out). `owner` is absolute
  // or relative to the zone it falls in ("x.example.test"); the zone is the
  // longest dynamic zone suffix (example.test, second.test, insecure.test,
  // leaf.test).
  //
  // SetTxt replaces the TXT RRset at `owner` with `records` (each a list of
  // raw character-strings, any bytes, 0-255 octets each).
  absl::Status SetTxt(absl::string_view owner,
                      const std::vector<std::vector<std::string>>& records,
                      uint32_t ttl = 2);
  // AddRecord adds one RR in presentation format ("CAA", "0 issue \"x\"").
  absl::Status AddRecord(absl::string_view owner, absl::string_view type,
                         absl::string_view rdata, uint32_t ttl = 2);
  // DeleteRecord deletes one RR, or the whole RRset when `rdata` is empty.
  absl::Status DeleteRecord(absl::string_view owner, absl::string_view type,
                            absl::string_view rdata = "");
  // Update sends raw knsupdate commands ("update add ...") to `zone`.
  absl::Status Update(absl::string_view zone,
                      const std::vector<std::string>& commands);

  // StopInstance takes "infra", "auth" or "attacker" down: SIGKILL (like a
  // crash, after `knotc zone-flush` so that runtime updates persist) or,
  // with crash=false, SIGTERM and a clean exit (~2 s).
  absl::Status StopInstance(absl::string_view instance, bool crash = true);
  // StartInstance brings it back (its zones and runtime updates persist)
  // and waits until its zones answer again.
  absl::Status StartInstance(absl::string_view instance);
  bool InstanceRunning(absl::string_view instance);
  // StartAttacker starts the "attacker" instance (forged, UNSIGNED copies of
  // example.test and insecure.test whose _validation-persist TXT says
  // ".../acct/ATTACKER") on attacker_address().
  absl::Status StartAttacker();

 private:
  explicit DnsFixture(Options options);
  std::vector<std::pair<std::string, std::string>> ScriptEnv() const;
  absl::Status RunScript(const std::vector<std::string>& args,
                         absl::Duration timeout);
  absl::Status StartKnotd(const std::string& instance);
  std::string LogTail(const std::string& instance) const;

  Options options_;
  std::string dir_;
  bool remove_dir_ = false;    // dir_ was made here, outside $TEST_TMPDIR
  std::string run_dir_;        // knotd control sockets (short path)
  bool remove_run_dir_ = false;
  std::string script_;
  std::string attacker_address_;
  std::map<std::string, std::string, std::less<>> servers_;  // zone -> ip
  std::map<std::string, std::unique_ptr<harness::Subprocess>, std::less<>>
      knotd_;
};

// QuoteTxtStrings renders raw character-strings in zone-file presentation
// form: each quoted, with '"' and '\' escaped and bytes outside 0x20-0x7e as
// \DDD (RFC 1035 section 5.1).
std::string QuoteTxtStrings(const std::vector<std::string>& strings);

}  // namespace vantage::dnstest

#endif  // VANTAGE_TESTS_DNS_FIXTURE_H_
