// FakeObserver: an Observer for unit tests of the classes around the seam
// (the service, the remote client). It answers from a responder function,
// inline or held until Release(), and records what it was asked.
#ifndef VANTAGE_PERSPECTIVE_FAKE_OBSERVER_H_
#define VANTAGE_PERSPECTIVE_FAKE_OBSERVER_H_

#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "perspective/observer.h"
#include "proto/perspective.pb.h"

namespace vantage::perspective {

class FakeObserver : public Observer {
 public:
  using Responder = std::function<absl::StatusOr<v1::Observation>(const v1::ObserveRequest&)>;

  void Observe(const v1::ObserveRequest& request, absl::Time deadline, Done done) override {
    Responder responder;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
      deadlines_.push_back(deadline);
      if (hold_) {
        held_.push_back({request, std::move(done)});
        return;
      }
      responder = responder_;
    }
    std::move(done)(Answer(responder, request));
  }

  // SetResult answers every request with `result`.
  void SetResult(absl::StatusOr<v1::Observation> result) {
    SetResponder([result](const v1::ObserveRequest&) { return result; });
  }
  void SetResponder(Responder responder) {
    absl::MutexLock lock(&mu_);
    responder_ = std::move(responder);
  }
  // Hold keeps every following call pending until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  // WaitForHeld waits until at least `n` calls are held; false after 10 s.
  bool WaitForHeld(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() { return held_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }
  // Release stops holding and answers every held call from another thread
  // (as a resolver's callback thread would), waiting until all have run.
  void Release() {
    std::vector<Held> held;
    Responder responder;
    {
      absl::MutexLock lock(&mu_);
      held.swap(held_);
      hold_ = false;
      responder = responder_;
    }
    std::thread([&held, &responder]() {
      for (Held& h : held) std::move(h.done)(Answer(responder, h.request));
    }).join();
  }
  size_t calls() {
    absl::MutexLock lock(&mu_);
    return requests_.size();
  }
  absl::Time last_deadline() {
    absl::MutexLock lock(&mu_);
    return deadlines_.empty() ? absl::InfinitePast() : deadlines_.back();
  }

 private:
  struct Held {
    v1::ObserveRequest request;
    Done done;
  };
  static absl::StatusOr<v1::Observation> Answer(const Responder& responder,
                                                const v1::ObserveRequest& request) {
    if (!responder) return absl::InternalError("FakeObserver: no responder set");
    return responder(request);
  }

  absl::Mutex mu_;
  bool hold_ = false;
  Responder responder_;
  std::vector<v1::ObserveRequest> requests_;
  std::vector<absl::Time> deadlines_;
  std::vector<Held> held_;
};

}  // namespace vantage::perspective

#endif  // VANTAGE_PERSPECTIVE_FAKE_OBSERVER_H_
