// Network isolation for multi-process tests.
//
// Tests that start DNS servers, perspectives or a VA send traffic only inside
// network namespaces they create themselves (never to the machine's resolver
// or the internet). A test binary calls EnterPrivateNetworkNamespace() at the
// top of main(), before any thread starts; everything it starts afterwards
// (knotd, vantage-perspective, ...) inherits the namespace. Two test binaries
// in separate namespaces can use the same addresses and ports at once, so
// `bazel test --jobs=N` runs them in parallel without clashes.
//
// The simplest way is to link //tests/harness:netns_gtest_main instead of
// gtest_main.
#ifndef VANTAGE_TESTS_HARNESS_NETNS_H_
#define VANTAGE_TESTS_HARNESS_NETNS_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace vantage::harness {

// EnterPrivateNetworkNamespace moves the calling process into
//  - a new network namespace whose only interface is `lo`, brought up here,
//    so all of 127.0.0.0/8 is local (knotd can bind any 127.53.x.y:53);
//  - a new mount namespace in which mounts do not propagate back to the host,
//    with a private tmpfs on /run/netns, so the named namespaces the test
//    creates (`ip netns add`, the regions lab) stay private to this test and
//    vanish with it.
// As root this needs nothing else. As another user it first enters a new user
// namespace mapping the user to root (unprivileged user namespaces must be
// enabled); if that is impossible the error says the test needs root.
// Must be called while the process has a single thread (unshare(2) refuses
// CLONE_NEWNS otherwise): at the top of main(), before InitGoogleTest starts
// anything. Calling it twice returns FAILED_PRECONDITION.
absl::Status EnterPrivateNetworkNamespace();

// InPrivateNetworkNamespace reports whether EnterPrivateNetworkNamespace
// succeeded in this process.
bool InPrivateNetworkNamespace();

// NetnsPath returns the file that names a network namespace: `name` as given
// when it contains a '/', else /run/netns/<name> (the `ip netns` convention).
std::string NetnsPath(absl::string_view name);

// RunInNetworkNamespace runs `fn` on a short-lived thread that has joined the
// named network namespace (setns(2) affects only the calling thread), and
// waits for it. Used to probe a port from inside a region of the lab. An
// empty `netns` runs `fn` in the caller's namespace.
absl::Status RunInNetworkNamespace(absl::string_view netns,
                                   const std::function<void()>& fn);

}  // namespace vantage::harness

#endif  // VANTAGE_TESTS_HARNESS_NETNS_H_
