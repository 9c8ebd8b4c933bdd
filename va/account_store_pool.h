// AccountStorePool: a small pool of database connections shared by the
// account store implementations. Lookup runs on the VA's hot path from many
// threads (DESIGN.md "Account store"); each connection (with its prepared
// statements) is used by one thread at a time, and at most `max_size` exist.
#ifndef VANTAGE_VA_ACCOUNT_STORE_POOL_H_
#define VANTAGE_VA_ACCOUNT_STORE_POOL_H_

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vantage::va {

template <typename Conn>
class AccountStorePool {
 public:
  // Connect opens one new connection; it is called without the pool lock held.
  using Connect = std::function<absl::StatusOr<std::unique_ptr<Conn>>()>;

  // Lease is one checked-out connection. Destroying it returns the connection
  // to the pool, unless Discard() was called (a broken connection: the next
  // Acquire opens a fresh one, which is how a restarted server is picked up).
  class Lease {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          conn_(std::move(other.conn_)),
          fresh_(other.fresh_) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(conn_));
    }

    Conn* operator->() const { return conn_.get(); }
    Conn& operator*() const { return *conn_; }
    // fresh is true when the connection was opened for this lease (so a
    // failure on it is not a stale connection left over from before).
    bool fresh() const { return fresh_; }
    // Discard drops the connection instead of returning it to the pool.
    void Discard() {
      if (pool_ != nullptr) pool_->Forget();
      pool_ = nullptr;
      conn_.reset();
    }

   private:
    friend class AccountStorePool;
    Lease(AccountStorePool* pool, std::unique_ptr<Conn> conn, bool fresh)
        : pool_(pool), conn_(std::move(conn)), fresh_(fresh) {}

    AccountStorePool* pool_;
    std::unique_ptr<Conn> conn_;
    bool fresh_;
  };

  AccountStorePool(int max_size, Connect connect)
      : max_size_(max_size < 1 ? 1 : max_size), connect_(std::move(connect)) {}
  AccountStorePool(const AccountStorePool&) = delete;
  AccountStorePool& operator=(const AccountStorePool&) = delete;

  // Seed adds an already open connection (e.g. the one that created the
  // schema) to the idle list.
  void Seed(std::unique_ptr<Conn> conn) {
    absl::MutexLock lock(&mu_);
    ++open_;
    idle_.push_back(std::move(conn));
  }

  // Acquire returns an idle connection, opens a new one while fewer than
  // max_size exist, or waits up to `wait` for one to be returned; then
  // UNAVAILABLE (all connections busy). A failed Connect is returned as is.
  absl::StatusOr<Lease> Acquire(absl::Duration wait) {
    const absl::Time deadline = absl::Now() + wait;
    {
      absl::MutexLock lock(&mu_);
      auto can_proceed = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < max_size_;
      };
      if (!mu_.AwaitWithDeadline(absl::Condition(&can_proceed), deadline)) {
        return absl::UnavailableError(absl::StrCat(
            "account store: all ", max_size_, " connections stayed busy for ",
            absl::FormatDuration(wait)));
      }
      if (!idle_.empty()) {
        std::unique_ptr<Conn> conn = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(conn), /*fresh=*/false);
      }
      ++open_;  // Reserve the slot while connecting without the lock.
    }
    absl::StatusOr<std::unique_ptr<Conn>> conn = connect_();
    if (!conn.ok()) {
      Forget();
      return conn.status();
    }
    return Lease(this, *std::move(conn), /*fresh=*/true);
  }

 private:
  void Release(std::unique_ptr<Conn> conn) {
    absl::MutexLock lock(&mu_);
    idle_.push_back(std::move(conn));
  }
  void Forget() {
    absl::MutexLock lock(&mu_);
    --open_;
  }

  const int max_size_;
  const Connect connect_;
  absl::Mutex mu_;
  // Connections that exist: idle ones plus those leased or being opened.
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vantage::va

#endif  // VANTAGE_VA_ACCOUNT_STORE_POOL_H_
