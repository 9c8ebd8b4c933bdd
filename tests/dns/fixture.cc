#include "tests/dns/fixture.h"

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/duration.pb.h"

namespace vantage::dnstest {
namespace {

using harness::RunCommand;
using harness::Subprocess;

std::string ReadTail(const std::string& path, int lines) {
  std::ifstream f(path);
  std::ostringstream ss;
  ss << f.rdbuf();
  std::vector<absl::string_view> all =
      absl::StrSplit(ss.str(), '\n', absl::SkipEmpty());
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

// Dynamic zones (knsupdate allowed), most specific first.
constexpr absl::string_view kDynamicZones[] = {"example.test", "second.test",
                                               "insecure.test", "leaf.test"};

// Absolute owner name with a trailing dot.
std::string Absolute(absl::string_view owner) {
  return absl::EndsWith(owner, ".") ? std::string(owner)
                                    : absl::StrCat(owner, ".");
}

absl::StatusOr<std::string> ZoneOf(absl::string_view owner) {
  std::string name = absl::AsciiStrToLower(absl::StripSuffix(owner, "."));
  for (absl::string_view zone : kDynamicZones) {
    if (name == zone || absl::EndsWith(name, absl::StrCat(".", zone))) {
      return std::string(zone);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      owner, " is not in a dynamic fixture zone (",
      absl::StrJoin(kDynamicZones, ", "), ")"));
}

}  // namespace

std::string BigTxtString(int i) {
  std::string s = absl::StrCat("big-", i, "-");
  s.resize(200, 'x');
  return s;
}

std::string AccountRecord(absl::string_view tag) {
  return absl::StrCat("ca.example; accounturi=https://ca.example/acct/", tag);
}

std::string QuoteTxtStrings(const std::vector<std::string>& strings) {
  std::string out;
  for (const std::string& s : strings) {
    if (!out.empty()) out += ' ';
    out += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20 || c > 0x7e) {
        out += absl::StrFormat("\\%03d", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '"';
  }
  return out;
}

DnsFixture::DnsFixture(Options options) : options_(std::move(options)) {
  dir_ = options_.dir;
  if (!options_.attacker_address.empty()) {
    attacker_address_ = options_.attacker_address;
  } else {
    std::vector<std::string> o = absl::StrSplit(options_.auth_prefix, '.');
    attacker_address_ = absl::StrCat(o.size() >= 2 ? o[0] : "127", ".",
                                     o.size() >= 2 ? o[1] : "53", ".9.1");
  }
}

DnsFixture::~DnsFixture() {
  // SIGKILL all at once: knotd needs ~2 s for a clean exit and the
  // directory is thrown away anyway. ~Subprocess reaps each.
  for (auto& [name, process] : knotd_) {
    if (process != nullptr) process->Signal(SIGKILL);
  }
  knotd_.clear();
  if (remove_run_dir_) {
    harness::RunCommand({"rm", "-rf", run_dir_}).IgnoreError();
  }
  if (remove_dir_) harness::RunCommand({"rm", "-rf", dir_}).IgnoreError();
}

std::vector<std::pair<std::string, std::string>> DnsFixture::ScriptEnv()
    const {
  return {{"FIX_DIR", dir_},
          {"FIX_RUNDIR", run_dir_},
          {"FIX_NETNS", options_.netns},
          {"FIX_INFRA_IP4", options_.infra_prefix},
          {"FIX_AUTH_IP4", options_.auth_prefix},
          {"FIX_ATTACKER_IP4", attacker_address_},
          {"FIX_TTL", absl::StrCat(options_.ttl_seconds)},
          {"FIX_LEAF_NAMES", absl::StrCat(options_.leaf_names)},
          {"FIX_LEAF_RECORD", options_.leaf_record.empty() ? AccountRecord("leaf")
                                                            : options_.leaf_record},
          {"FIX_WAIT_MS",
           absl::StrCat(absl::ToInt64Milliseconds(options_.start_timeout))}};
}

absl::Status DnsFixture::RunScript(const std::vector<std::string>& args,
                                   absl::Duration timeout) {
  Subprocess::Options o;
  o.argv = {"bash", script_};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  o.env = ScriptEnv();
  absl::StatusOr<harness::RunResult> r = RunCommand(o, timeout + absl::Seconds(5));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        "fixture.sh ", absl::StrJoin(args, " "), " failed (exit ",
        r->exit_code, "):\n", r->stderr_text, r->stdout_text));
  }
  return absl::OkStatus();
}

std::string DnsFixture::LogTail(const std::string& instance) const {
  return absl::StrCat("--- ", dir_, "/", instance, "/knotd.log ---\n",
                      ReadTail(absl::StrCat(dir_, "/", instance, "/knotd.log"), 15),
                      "\n--- stderr ---\n",
                      ReadTail(absl::StrCat(dir_, "/", instance, "/stderr.log"), 5));
}

absl::Status DnsFixture::StartKnotd(const std::string& instance) {
  std::string base = absl::StrCat(dir_, "/", instance);
  // knotd refuses to start while the PID in knot.pid is alive; a killed
  // instance leaves the file behind.
  std::remove(absl::StrCat(run_dir_, "/", instance, "/knot.pid").c_str());
  Subprocess::Options o;
  o.argv = {"knotd", "-c", absl::StrCat(base, "/knot.conf")};
  o.netns = options_.netns;
  o.stdout_path = absl::StrCat(base, "/stderr.log");
  o.stderr_path = o.stdout_path;
  o.append_output = true;
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(o);
  if (!p.ok()) return p.status();
  // The script's wait loop notices a knotd that dies during start-up.
  std::ofstream(absl::StrCat(base, "/pid")) << (*p)->pid() << "\n";
  knotd_[instance] = *std::move(p);
  absl::Status ready = RunScript({"wait", instance}, options_.start_timeout);
  if (!ready.ok()) {
    return absl::Status(ready.code(), absl::StrCat("knotd ", instance,
                                                   " not ready: ", ready.message(),
                                                   "\n", LogTail(instance)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DnsFixture>> DnsFixture::Start(
    const Options& options) {
  // One TXT character-string (RFC 1035 3.3.14), written into a zone file.
  if (options.leaf_record.size() > 255 ||
      !std::all_of(options.leaf_record.begin(), options.leaf_record.end(),
                   [](char c) { return c >= 0x20 && c <= 0x7e; })) {
    return absl::InvalidArgumentError(
        "DnsFixture::Options.leaf_record: must be printable ASCII, at most 255 octets "
        "(one TXT character-string)");
  }
  std::unique_ptr<DnsFixture> f(new DnsFixture(options));
  absl::StatusOr<std::string> script =
      harness::RunfilePath("tests/dns/fixture.sh");
  if (!script.ok()) return script.status();
  f->script_ = *script;
  if (f->dir_.empty()) {
    std::string templ =
        absl::StrCat(harness::TestTempDir(), "/dns-fixture.XXXXXX");
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", templ, " failed"));
    }
    f->dir_ = templ;
    const char* test_tmpdir = std::getenv("TEST_TMPDIR");
    f->remove_dir_ = test_tmpdir == nullptr || *test_tmpdir == '\0';
  }
  // knotd's control socket is a UNIX socket: its path must fit in 108
  // octets, which Bazel's deep TEST_TMPDIR may not.
  f->run_dir_ = f->dir_;
  if (f->dir_.size() + sizeof("/attacker/knot.sock") > 100) {
    char templ[] = "/tmp/vantage-dns.XXXXXX";
    if (mkdtemp(templ) == nullptr) {
      return absl::InternalError("mkdtemp /tmp/vantage-dns.XXXXXX failed");
    }
    f->run_dir_ = templ;
    f->remove_run_dir_ = true;
  }
  if (absl::Status s = f->RunScript({"prepare"}, options.start_timeout);
      !s.ok()) {
    return s;
  }
  std::ifstream servers(absl::StrCat(f->dir_, "/client/servers.txt"));
  std::string zone, ip;
  while (servers >> zone >> ip) f->servers_[zone] = ip;
  for (const char* instance : {"infra", "auth"}) {
    if (absl::Status s = f->StartKnotd(instance); !s.ok()) return s;
  }
  return f;
}

std::string DnsFixture::root_hints_file() const {
  return absl::StrCat(dir_, "/client/root.hints");
}
std::string DnsFixture::trust_anchor_file() const {
  return absl::StrCat(dir_, "/client/root.ta");
}
std::string DnsFixture::unbound_conf_file() const {
  return absl::StrCat(dir_, "/client/unbound.conf");
}

v1::ResolverConfig DnsFixture::resolver_config() const {
  v1::ResolverConfig c;
  c.set_trust_anchor_file(trust_anchor_file());
  c.set_root_hints_file(root_hints_file());
  c.set_allow_loopback_servers(true);
  c.add_unblock_local_zones("test.");
  c.set_infra_cache_max_rtt_ms(500);
  return c;
}

std::string DnsFixture::auth_address(int last_octet) const {
  return absl::StrCat(options_.auth_prefix, ".", last_octet);
}

absl::StatusOr<std::string> DnsFixture::ServerOf(absl::string_view zone) const {
  auto it = servers_.find(absl::StripSuffix(zone, "."));
  if (it == servers_.end()) {
    return absl::NotFoundError(absl::StrCat("no fixture zone ", zone));
  }
  return it->second;
}

absl::Status DnsFixture::Update(absl::string_view zone,
                                const std::vector<std::string>& commands) {
  absl::StatusOr<std::string> server = ServerOf(zone);
  if (!server.ok()) return server.status();
  std::string input = absl::StrCat("server ", *server, " 53\nzone ",
                                   Absolute(zone), "\n");
  for (const std::string& c : commands) absl::StrAppend(&input, c, "\n");
  absl::StrAppend(&input, "send\nanswer\n");
  Subprocess::Options o;
  o.argv = {"knsupdate", "-t", "5"};
  o.netns = options_.netns;
  o.stdin_data = input;
  absl::StatusOr<harness::RunResult> r = RunCommand(o, absl::Seconds(15));
  if (!r.ok()) return r.status();
  // knsupdate exits non-zero on REFUSED/NOTZONE etc.; the answer section
  // names the rcode.
  if (r->exit_code != 0 || !absl::StrContains(r->stdout_text, "NOERROR")) {
    return absl::InternalError(absl::StrCat(
        "knsupdate to ", zone, " failed (exit ", r->exit_code, "):\n", input,
        "---\n", r->stdout_text, r->stderr_text, "\n", LogTail("auth")));
  }
  return absl::OkStatus();
}

absl::Status DnsFixture::SetTxt(
    absl::string_view owner, const std::vector<std::vector<std::string>>& records,
    uint32_t ttl) {
  absl::StatusOr<std::string> zone = ZoneOf(owner);
  if (!zone.ok()) return zone.status();
  std::string name = Absolute(owner);
  std::vector<std::string> commands = {absl::StrCat("update delete ", name, " TXT")};
  for (const std::vector<std::string>& rr : records) {
    for (const std::string& s : rr) {
      if (s.size() > 255) {
        return absl::InvalidArgumentError(absl::StrCat(
            "TXT character-string of ", s.size(), " octets (max 255)"));
      }
    }
    commands.push_back(absl::StrCat("update add ", name, " ", ttl, " TXT ",
                                    rr.empty() ? "\"\"" : QuoteTxtStrings(rr)));
  }
  return Update(*zone, commands);
}

absl::Status DnsFixture::AddRecord(absl::string_view owner,
                                   absl::string_view type,
                                   absl::string_view rdata, uint32_t ttl) {
  absl::StatusOr<std::string> zone = ZoneOf(owner);
  if (!zone.ok()) return zone.status();
  return Update(*zone, {absl::StrCat("update add ", Absolute(owner), " ", ttl,
                                     " ", type, " ", rdata)});
}

absl::Status DnsFixture::DeleteRecord(absl::string_view owner,
                                      absl::string_view type,
                                      absl::string_view rdata) {
  absl::StatusOr<std::string> zone = ZoneOf(owner);
  if (!zone.ok()) return zone.status();
  return Update(*zone, {absl::StrCat("update delete ", Absolute(owner), " ",
                                     type, rdata.empty() ? "" : " ", rdata)});
}

bool DnsFixture::InstanceRunning(absl::string_view instance) {
  auto it = knotd_.find(instance);
  return it != knotd_.end() && it->second != nullptr && it->second->Running();
}

absl::Status DnsFixture::StopInstance(absl::string_view instance, bool crash) {
  auto it = knotd_.find(instance);
  if (it == knotd_.end() || it->second == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("knotd ", instance, " is not running"));
  }
  if (crash) {
    // Runtime updates must survive the "crash": have knotd write every zone
    // back first (zonefile-sync: 0 flushes soon after an update, but not
    // synchronously; on restart the zone file wins over the journal).
    if (instance != "attacker") {
      harness::RunCommand({"knotc", "-c",
                           absl::StrCat(dir_, "/", instance, "/knot.conf"), "-b",
                           "-t", "5", "zone-flush"},
                          absl::Seconds(10))
          .IgnoreError();
    }
    it->second->Signal(SIGKILL);
  }
  it->second->Stop();  // reaps (SIGTERM first when not crashed)
  it->second.reset();
  return absl::OkStatus();
}

absl::Status DnsFixture::StartInstance(absl::string_view instance) {
  if (instance != "infra" && instance != "auth" && instance != "attacker") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown instance ", instance,
                     " (infra, auth, attacker)"));
  }
  if (InstanceRunning(instance)) {
    return absl::FailedPreconditionError(
        absl::StrCat("knotd ", instance, " is already running"));
  }
  return StartKnotd(std::string(instance));
}

absl::Status DnsFixture::StartAttacker() {
  if (absl::Status s = RunScript({"prepare-attacker"}, absl::Seconds(30));
      !s.ok()) {
    return s;
  }
  return StartInstance("attacker");
}

}  // namespace vantage::dnstest
