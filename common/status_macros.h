// Status helpers: Abseil 20220623 (Debian 12) ships no status macros.
#ifndef VANTAGE_COMMON_STATUS_MACROS_H_
#define VANTAGE_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VANTAGE_STATUS_CONCAT_INNER_(a, b) a##b
#define VANTAGE_STATUS_CONCAT_(a, b) VANTAGE_STATUS_CONCAT_INNER_(a, b)

// RETURN_IF_ERROR(expr): returns the absl::Status of `expr` when it is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    const absl::Status vantage_status_ = (expr);       \
    if (!vantage_status_.ok()) return vantage_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates the absl::StatusOr `expr`; on error
// returns its status, otherwise moves the value into `lhs` (which may be a
// declaration, e.g. `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  VANTAGE_ASSIGN_OR_RETURN_IMPL_(   \
      VANTAGE_STATUS_CONCAT_(vantage_statusor_, __LINE__), lhs, expr)

#define VANTAGE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = std::move(statusor).value()

#endif  // VANTAGE_COMMON_STATUS_MACROS_H_
