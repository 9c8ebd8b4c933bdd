// policy_bench: the cost of the record verdict against the SHA-256 work it
// cannot avoid (issue 2 target: verdict <= 2x the hashes it must compute).
//
//   bazel run --config=opt //bench:policy_bench -- --benchmark_repetitions=10
//
// The case is the most expensive one for an RRset of 4 records and an
// account with 3 retained keys: all 4 records are ours and well-formed
// (hashed accounturi, sha-256), the first 3 match no key, and the LAST
// record matches the LAST expected value (key 2, the domain-independent
// D = "*"), so every record is parsed, checked and compared.
//
//  - BM_Verdict:        everything the VA needs to DECIDE one validation:
//                       AccountBinding::Create (6 hashed accounturi values:
//                       3 keys x {FQDN, "*"}) + Decide(4 records), giving the
//                       outcome, problem type, matched record, matched
//                       accounturi and matched key. No text is rendered.
//  - BM_CreateOnly:     AccountBinding::Create alone (validation, the 6
//                       hashes, the binding's allocation).
//  - BM_DecideOnly:     Decide with a prebuilt binding - what each extra
//                       perspective's observation costs to decide.
//  - BM_Explain:        rendering the texts of a decision (Explain: every
//                       record's reason, copies of values and accounturis) -
//                       what the evidence and audit record cost on top.
//  - BM_EvaluateOnly:   Evaluate (= Decide + Explain) with a prebuilt binding.
//  - BM_VerdictExplained: Create + Evaluate - the decision with all its texts.
//  - BM_BareSha256x6:   the 6 SHA-256 of the same L||D||K||U inputs with a
//                       fetched EVP_MD and a reused EVP_MD_CTX (the floor).
//
// Issue 2's ratio is BM_Verdict / BM_BareSha256x6 from the same run.
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "policy/account_hash.h"
#include "policy/record.h"

namespace {

using vantage::policy::AccountBinding;
using vantage::policy::HashAlg;
using vantage::policy::Outcome;
using vantage::policy::RrsetDecision;
using vantage::policy::RrsetVerdict;
using vantage::policy::TxtRr;
using vantage::policy::VerdictContext;

constexpr char kPrefix[] = "https://ca.example/account-hash/";
constexpr char kUrl[] = "https://ca.example/acct/123";
const std::vector<std::string> kThumbs = {
    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
    "L_j090ywHMcVuYmgmlI-vJQwCKKpLBGBSwlI_3NLvEs",
};

VerdictContext Context() {
  VerdictContext c;
  c.issuers = {"authority.example"};
  c.now = absl::FromUnixSeconds(1790000000);
  c.identifier = {"www.example.com", false};
  c.account_url = kUrl;
  c.thumbprints = kThumbs;
  c.hash_prefix = kPrefix;
  return c;
}

// Match is the accounturi of the last key, D = "*" (the last expected value).
std::string Match() {
  return *vantage::policy::HashedAccountUri(kPrefix, HashAlg::kSha256, "*", kThumbs[2], kUrl);
}

std::vector<TxtRr> Rrset() {
  std::vector<TxtRr> rrset;
  // Three well-formed records of ours for another account URL: each is
  // parsed, checked and compared against all 6 values without a match.
  for (int i = 0; i < 3; ++i) {
    const std::string other = *vantage::policy::HashedAccountUri(
        kPrefix, HashAlg::kSha256, "www.example.com", kThumbs[i], absl::StrCat(kUrl, "/", i));
    rrset.push_back(
        {absl::StrCat("authority.example; accounturi=", other, "; persistUntil=1800000000")});
  }
  rrset.push_back(
      {absl::StrCat("authority.example; accounturi=", Match(), "; persistUntil=1800000000")});
  return rrset;
}

void BM_Verdict(benchmark::State& state) {
  const VerdictContext ctx = Context();
  const std::vector<TxtRr> rrset = Rrset();
  const std::string match = Match();
  for (auto _ : state) {
    std::unique_ptr<AccountBinding> b = *AccountBinding::Create(ctx);
    const RrsetDecision d = b->Decide(rrset);
    benchmark::DoNotOptimize(d.outcome);
    benchmark::DoNotOptimize(d.problem_type);
    benchmark::DoNotOptimize(d.matched_index);
    benchmark::DoNotOptimize(d.matched_accounturi);
    benchmark::DoNotOptimize(d.matched_key);
    if (d.outcome != Outcome::kValid || d.matched_index != 3 || !d.matched_key.has_value() ||
        d.matched_key->key_index != 2 || !d.matched_key->domain_independent ||
        d.matched_accounturi != match) {
      state.SkipWithError("unexpected verdict");
    }
  }
}
BENCHMARK(BM_Verdict);

void BM_CreateOnly(benchmark::State& state) {
  const VerdictContext ctx = Context();
  for (auto _ : state) {
    std::unique_ptr<AccountBinding> b = *AccountBinding::Create(ctx);
    benchmark::DoNotOptimize(b.get());
  }
}
BENCHMARK(BM_CreateOnly);

void BM_DecideOnly(benchmark::State& state) {
  const std::unique_ptr<AccountBinding> b = *AccountBinding::Create(Context());
  const std::vector<TxtRr> rrset = Rrset();
  for (auto _ : state) {
    const RrsetDecision d = b->Decide(rrset);
    benchmark::DoNotOptimize(d.outcome);
    benchmark::DoNotOptimize(d.matched_key);
  }
}
BENCHMARK(BM_DecideOnly);

void BM_Explain(benchmark::State& state) {
  const std::unique_ptr<AccountBinding> b = *AccountBinding::Create(Context());
  const std::vector<TxtRr> rrset = Rrset();
  const RrsetDecision d = b->Decide(rrset);
  for (auto _ : state) {
    RrsetVerdict v = b->Explain(d);
    benchmark::DoNotOptimize(v);
    if (v.records.size() != 4 || v.records[3].reason.empty()) state.SkipWithError("no texts");
  }
}
BENCHMARK(BM_Explain);

void BM_EvaluateOnly(benchmark::State& state) {
  const std::unique_ptr<AccountBinding> b = *AccountBinding::Create(Context());
  const std::vector<TxtRr> rrset = Rrset();
  for (auto _ : state) {
    RrsetVerdict v = b->Evaluate(rrset);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_EvaluateOnly);

void BM_VerdictExplained(benchmark::State& state) {
  const VerdictContext ctx = Context();
  const std::vector<TxtRr> rrset = Rrset();
  for (auto _ : state) {
    std::unique_ptr<AccountBinding> b = *AccountBinding::Create(ctx);
    RrsetVerdict v = b->Evaluate(rrset);
    benchmark::DoNotOptimize(v);
    if (v.outcome != Outcome::kValid || v.matched_index != 3 || v.matched_key->key_index != 2) {
      state.SkipWithError("unexpected verdict");
    }
  }
}
BENCHMARK(BM_VerdictExplained);

void BM_BareSha256x6(benchmark::State& state) {
  // The same six hash inputs L || D || K || U the binding computes.
  std::vector<std::string> inputs;
  for (const std::string& k : kThumbs) {
    for (const std::string d : {"www.example.com", "*"}) {
      inputs.push_back(absl::StrCat(std::string(1, static_cast<char>(d.size())), d, k, kUrl));
    }
  }
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    for (const std::string& in : inputs) {
      EVP_DigestInit_ex(ctx, md, nullptr);
      EVP_DigestUpdate(ctx, in.data(), in.size());
      EVP_DigestFinal_ex(ctx, out, &len);
      benchmark::DoNotOptimize(out);
    }
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
}
BENCHMARK(BM_BareSha256x6);

}  // namespace

BENCHMARK_MAIN();
