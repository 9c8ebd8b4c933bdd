#include "tests/harness/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"

namespace vantage::harness {
namespace {

std::atomic<bool> entered{false};

absl::Status Errno(absl::string_view what) {
  int e = errno;
  absl::StatusCode code = absl::StatusCode::kInternal;
  if (e == EPERM || e == EACCES) code = absl::StatusCode::kPermissionDenied;
  if (e == ENOENT) code = absl::StatusCode::kNotFound;
  return absl::Status(code, absl::StrCat(what, ": ", std::strerror(e)));
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Becomes root of a new user namespace (for non-root users): the network and
// mount namespaces created next are owned by it, so we hold CAP_NET_ADMIN and
// CAP_SYS_ADMIN over them.
absl::Status EnterUserNamespace() {
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this test must run as root (or with unprivileged user namespaces "
        "enabled): unshare(CLONE_NEWUSER): ",
        std::strerror(errno)));
  }
  if (auto s = WriteFile("/proc/self/setgroups", "deny"); !s.ok()) return s;
  if (auto s = WriteFile("/proc/self/uid_map", absl::StrCat("0 ", uid, " 1"));
      !s.ok())
    return s;
  return WriteFile("/proc/self/gid_map", absl::StrCat("0 ", gid, " 1"));
}

absl::Status BringLoopbackUp() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  absl::Status status;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
    status = Errno("SIOCGIFFLAGS lo");
  } else {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) status = Errno("SIOCSIFFLAGS lo");
  }
  close(fd);
  return status;
}

// A tmpfs on /run/netns that only this mount namespace sees. Under Bazel's
// linux-sandbox the root file system may be read-only so /run/netns cannot
// be created; then the tmpfs goes on /run itself.
absl::Status PrivateRunNetns() {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Errno("mount --make-rprivate /");
  }
  if (mkdir("/run/netns", 0755) != 0 && errno != EEXIST) {
    if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") !=
        0) {
      return Errno("mount tmpfs /run");
    }
    if (mkdir("/run/netns", 0755) != 0) return Errno("mkdir /run/netns");
  }
  if (mount("tmpfs", "/run/netns", "tmpfs", MS_NOSUID | MS_NODEV,
            "mode=755") != 0) {
    return Errno("mount tmpfs /run/netns");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EnterPrivateNetworkNamespace() {
  if (entered.load()) {
    return absl::FailedPreconditionError(
        "EnterPrivateNetworkNamespace called twice");
  }
  if (geteuid() != 0) {
    if (auto s = EnterUserNamespace(); !s.ok()) return s;
  }
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
    int e = errno;
    if (e == EINVAL) {
      return absl::FailedPreconditionError(
          "unshare(CLONE_NEWNET|CLONE_NEWNS): EINVAL - call "
          "EnterPrivateNetworkNamespace before any thread starts");
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "this test needs root (CAP_SYS_ADMIN) to create its own network "
        "namespace: unshare(CLONE_NEWNET|CLONE_NEWNS): ",
        std::strerror(e)));
  }
  if (auto s = PrivateRunNetns(); !s.ok()) return s;
  if (auto s = BringLoopbackUp(); !s.ok()) return s;
  entered.store(true);
  return absl::OkStatus();
}

bool InPrivateNetworkNamespace() { return entered.load(); }

std::string NetnsPath(absl::string_view name) {
  if (name.find('/') != absl::string_view::npos) return std::string(name);
  return absl::StrCat("/run/netns/", name);
}

absl::Status RunInNetworkNamespace(absl::string_view netns,
                                   const std::function<void()>& fn) {
  if (netns.empty()) {
    fn();
    return absl::OkStatus();
  }
  std::string path = NetnsPath(netns);
  absl::Status status;
  std::thread t([&] {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      status = Errno(absl::StrCat("open ", path));
      return;
    }
    // Only this thread changes namespace; it ends right after `fn`.
    if (setns(fd, CLONE_NEWNET) != 0) {
      status = Errno(absl::StrCat("setns ", path));
      close(fd);
      return;
    }
    close(fd);
    fn();
  });
  t.join();
  return status;
}

}  // namespace vantage::harness
