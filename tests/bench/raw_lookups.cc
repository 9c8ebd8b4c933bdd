#include "tests/bench/raw_lookups.h"

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/bench/proc_stats.h"

namespace vantage::bench {
namespace {

constexpr int kTypeTxt = 16;
constexpr int kClassIn = 1;
constexpr int kSecSecure = 2;  // ub_resolve_event: 0 insecure, 1 bogus, 2 secure

absl::Status UbStatus(int err, absl::string_view what) {
  if (err == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("libunbound ", what, ": ", ub_strerror(err)));
}

}  // namespace

std::string LeafNames::Next() {
  const int i = next_.fetch_add(1, std::memory_order_relaxed);
  return i < count_ ? absl::StrCat("t", i, ".leaf.test") : "";
}

struct RawLookups::Query {
  RawLookups* self;
  absl::Time start;
  bool counted;
};

absl::StatusOr<std::unique_ptr<RawLookups>> RawLookups::Create(const v1::ResolverConfig& r) {
  std::unique_ptr<RawLookups> raw(new RawLookups());
  raw->base_ = event_base_new();
  if (raw->base_ == nullptr) return absl::InternalError("libevent: cannot create a base");
  raw->ctx_ = ub_ctx_create_event(raw->base_);
  if (raw->ctx_ == nullptr) return absl::InternalError("libunbound: cannot create the context");
  ub_ctx* ctx = raw->ctx_;
  const std::string max_rtt = absl::StrCat(r.infra_cache_max_rtt_ms());
  for (absl::Status s : {
           UbStatus(ub_ctx_set_option(ctx, "do-ip6:", "no"), "do-ip6"),
           UbStatus(ub_ctx_set_option(ctx, "infra-cache-max-rtt:", max_rtt.c_str()),
                    "infra-cache-max-rtt"),
           UbStatus(ub_ctx_set_option(ctx, "infra-host-ttl:", "10"), "infra-host-ttl"),
           UbStatus(ub_ctx_set_option(ctx, "do-not-query-localhost:", "no"), "localhost"),
           UbStatus(ub_ctx_set_option(ctx, "root-hints:", r.root_hints_file().c_str()),
                    "root-hints"),
           UbStatus(ub_ctx_add_ta_file(ctx, r.trust_anchor_file().c_str()), "trust anchor"),
       }) {
    if (!s.ok()) return s;
  }
  for (const std::string& zone : r.unblock_local_zones()) {
    if (absl::Status s = UbStatus(ub_ctx_zone_remove(ctx, zone.c_str()), "zone_remove"); !s.ok()) {
      return s;
    }
  }
  return raw;
}

RawLookups::~RawLookups() {
  if (ctx_ != nullptr) ub_ctx_delete(ctx_);
  if (base_ != nullptr) event_base_free(base_);
}

Stats RawLookups::Run(int concurrency, double warmup, double seconds, LeafNames* leaf,
                      const std::vector<pid_t>& others) {
  Stats stats;
  stats_ = &stats;
  leaf_ = leaf;
  concurrency_ = concurrency;
  stop_ = false;
  measuring_ = false;
  const absl::Time warm_end = absl::Now() + absl::Seconds(warmup);
  const absl::Time end = warm_end + absl::Seconds(seconds);
  ProcessSample before;
  absl::Time t0;
  while (true) {
    const absl::Time now = absl::Now();
    if (!measuring_ && now >= warm_end) {
      measuring_ = true;
      t0 = now;
      before = SampleProcesses(others);
    }
    if (now >= end) stop_ = true;
    if (!stop_) Refill();
    if (outstanding_ == 0 && stop_) break;
    if (outstanding_ > 0) event_base_loop(base_, EVLOOP_ONCE);
  }
  const ProcessSample used = SampleProcesses(others) - before;
  stats.wall = absl::ToDoubleSeconds(std::min(absl::Now(), end) - t0);
  stats.cpu = used.cpu;
  stats.switches = used.switches;
  stats.cpu_each = used.cpu_each;
  stats_ = nullptr;
  return stats;
}

// Refill issues lookups until `concurrency_` are outstanding. Cache hits are
// answered inside ub_resolve_event, so this is a loop (never a recursion
// from the callback), bounded so that Run() looks at the clock.
void RawLookups::Refill() {
  for (int i = 0; i < 1024 && !stop_ && outstanding_ < concurrency_; ++i) {
    const std::string fqdn = leaf_ != nullptr ? leaf_->Next() : warm_fqdn_;
    if (fqdn.empty()) {
      stats_->exhausted = true;
      stop_ = true;
      return;
    }
    const std::string qname = "_validation-persist." + fqdn;
    auto* q = new Query{this, absl::Now(), measuring_};
    ++outstanding_;
    const int err = ub_resolve_event(ctx_, qname.c_str(), kTypeTxt, kClassIn, q, &OnAnswer,
                                     nullptr);
    if (err != 0) {
      // Never started: no callback will come.
      --outstanding_;
      delete q;
      if (measuring_) stats_->errors++;
      const std::string message = UbStatus(err, "resolve").ToString();
      if (stats_->error_samples.size() < Stats::kMaxErrorSamples ||
          stats_->error_samples.count(message) > 0) {
        stats_->error_samples[message]++;
      }
      stop_ = true;  // a broken context fails every lookup: do not spin
      return;
    }
  }
}

void RawLookups::OnAnswer(void* mydata, int rcode, void*, int length, int sec, char*, int) {
  auto* q = static_cast<Query*>(mydata);
  RawLookups* self = q->self;
  const bool good = rcode == 0 && sec == kSecSecure && length > 0;
  if (q->counted && self->measuring_ && !self->stop_) {
    self->stats_->latencies.push_back(absl::ToDoubleSeconds(absl::Now() - q->start));
    self->stats_->n++;
    if (!good) self->stats_->errors++;
  }
  if (!good) {
    const std::string message = absl::StrCat("rcode ", rcode, " sec ", sec, " length ", length);
    if (self->stats_->error_samples.size() < Stats::kMaxErrorSamples ||
        self->stats_->error_samples.count(message) > 0) {
      self->stats_->error_samples[message]++;
    }
  }
  --self->outstanding_;
  delete q;
}

}  // namespace vantage::bench
