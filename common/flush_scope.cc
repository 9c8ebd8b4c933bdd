#include "common/flush_scope.h"

#include <utility>

namespace vantage::common {
namespace {

thread_local FlushScope* current_scope = nullptr;

}  // namespace

FlushScope::FlushScope() : owner_(current_scope == nullptr) {
  if (owner_) current_scope = this;
}

FlushScope::~FlushScope() {
  if (!owner_) return;
  // Work may defer more work: run until none is left.
  while (!work_.empty()) {
    std::vector<Work> batch;
    batch.swap(work_);
    for (Work& work : batch) std::move(work)();
  }
  current_scope = nullptr;
}

bool FlushScope::Active() { return current_scope != nullptr; }

void FlushScope::Defer(Work work) {
  if (current_scope == nullptr) {
    std::move(work)();
    return;
  }
  current_scope->work_.push_back(std::move(work));
}

}  // namespace vantage::common
