#include "tests/bench/raw_lookups.h"

#include <event2/event.h>
#include <fcntl.h>
#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
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

// AnswerCount: ANCOUNT of a DNS message (RFC 1035 4.1.1: the 16-bit count at
// octet 6 of the 12-octet header), -1 for a packet shorter than a header.
// Two octets read by hand: a floor does not parse what it does not use.
int AnswerCount(const void* packet, int length) {
  if (packet == nullptr || length < 12) return -1;
  const auto* p = static_cast<const unsigned char*>(packet);
  return (p[6] << 8) | p[7];
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
  // Serve's hand-over pipe, made here so that Submit may come before Serve.
  if (pipe2(raw->wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
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
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

struct RawLookups::Served {
  RawLookups* self;
  LookupDone done;
};

absl::Status RawLookups::Serve() {
  // The pipe exists since Create: a Submit that came first left its byte in
  // it, and the (level-triggered) event fires at once.
  event* wake = event_new(base_, wake_[0], EV_READ | EV_PERSIST, &RawLookups::OnWake, this);
  if (wake == nullptr || event_add(wake, nullptr) != 0) {
    if (wake != nullptr) event_free(wake);
    return absl::InternalError("libevent: cannot watch the hand-over pipe");
  }
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (shutdown_ && submitted_.empty() && served_outstanding_ == 0) break;
    }
    event_base_loop(base_, EVLOOP_ONCE);
  }
  event_free(wake);
  return absl::OkStatus();
}

void RawLookups::Submit(std::string fqdn, LookupDone done) {
  bool first = false;
  {
    absl::MutexLock lock(&mu_);
    first = submitted_.empty();
    submitted_.emplace_back(std::move(fqdn), std::move(done));
  }
  // One byte per batch: the loop takes everything submitted when it wakes.
  if (first && write(wake_[1], "x", 1) < 0 && errno != EAGAIN) {
    std::fprintf(stderr, "raw lookups: hand-over pipe: %s\n", std::strerror(errno));
  }
}

void RawLookups::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
  }
  if (wake_[1] >= 0 && write(wake_[1], "x", 1) < 0 && errno != EAGAIN) {
    std::fprintf(stderr, "raw lookups: hand-over pipe: %s\n", std::strerror(errno));
  }
}

void RawLookups::OnWake(int fd, short, void* arg) {
  auto* self = static_cast<RawLookups*>(arg);
  char drain[64];
  while (read(fd, drain, sizeof drain) > 0) {
  }
  std::vector<std::pair<std::string, LookupDone>> batch;
  {
    absl::MutexLock lock(&self->mu_);
    batch.swap(self->submitted_);
  }
  for (auto& [fqdn, done] : batch) {
    const std::string qname = "_validation-persist." + fqdn;
    auto* q = new Served{self, std::move(done)};
    ++self->served_outstanding_;
    // Cache hits answer inside ub_resolve_event (OnServedAnswer runs first).
    const int err = ub_resolve_event(self->ctx_, qname.c_str(), kTypeTxt, kClassIn, q,
                                     &RawLookups::OnServedAnswer, nullptr);
    if (err != 0) {
      --self->served_outstanding_;
      LookupDone failed = std::move(q->done);
      delete q;
      failed(UbStatus(err, "resolve"));
    }
  }
}

void RawLookups::OnServedAnswer(void* mydata, int rcode, void* packet, int length, int sec, char*,
                                int) {
  auto* q = static_cast<Served*>(mydata);
  --q->self->served_outstanding_;
  LookupDone done = std::move(q->done);
  delete q;
  const int answers = AnswerCount(packet, length);
  if (rcode == 0 && sec == kSecSecure && answers > 0) {
    done(absl::OkStatus());
  } else {
    done(absl::UnavailableError(absl::StrCat("rcode ", rcode, " sec ", sec, " answers ", answers)));
  }
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
    const int err =
        ub_resolve_event(ctx_, qname.c_str(), kTypeTxt, kClassIn, q, &OnAnswer, nullptr);
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

void RawLookups::OnAnswer(void* mydata, int rcode, void* packet, int length, int sec, char*, int) {
  auto* q = static_cast<Query*>(mydata);
  RawLookups* self = q->self;
  const bool good = rcode == 0 && sec == kSecSecure && AnswerCount(packet, length) > 0;
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
