// FlushScope: gathers the "send it now" work of many callbacks run by one
// thread in a row, and runs it once, when the batch of callbacks ends.
//
// The perspective's resolver thread answers many observations per event-loop
// iteration (a batch of cache hits, several DNS replies read at once); each
// answer would start its own gRPC write. Inside a FlushScope a stream defers
// its write instead (once per scope), and the scope's end starts one write
// carrying every answer ready by then: fewer messages, syscalls and wakeups,
// and no added latency (the scope ends as soon as the callbacks return, never
// on a timer).
//
//   while (running) {
//     common::FlushScope scope;                 // this thread's scope
//     event_base_loop(base, EVLOOP_ONCE);       // callbacks may Defer()
//   }                                           // deferred work runs here
//
// A callback that may run inside a scope or not calls
// `common::FlushScope::Defer([this] { Flush(); })`: deferred inside a scope,
// run at once outside one. (PerspectiveService's stream also checks Active()
// to defer at most once per scope.)
#ifndef VANTAGE_COMMON_FLUSH_SCOPE_H_
#define VANTAGE_COMMON_FLUSH_SCOPE_H_

#include <vector>

#include "absl/functional/any_invocable.h"

namespace vantage::common {

class FlushScope {
 public:
  using Work = absl::AnyInvocable<void() &&>;

  // Makes this the calling thread's scope. Inside another scope of the same
  // thread it does nothing: the outer scope runs everything.
  FlushScope();
  // Runs the deferred work in the order it was deferred, including work
  // deferred while it runs; then the thread has no scope.
  ~FlushScope();
  FlushScope(const FlushScope&) = delete;
  FlushScope& operator=(const FlushScope&) = delete;

  // Active: the calling thread is inside a scope.
  static bool Active();
  // Defer queues `work` for the end of the calling thread's scope; without
  // one (Active() false) it runs `work` now.
  static void Defer(Work work);

 private:
  std::vector<Work> work_;
  bool owner_;
};

}  // namespace vantage::common

#endif  // VANTAGE_COMMON_FLUSH_SCOPE_H_
