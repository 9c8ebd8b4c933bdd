#include "tests/harness/subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "tests/harness/netns.h"

extern char** environ;

namespace vantage::harness {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string LastLines(const std::string& text, int lines) {
  std::vector<absl::string_view> all =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0;
  return absl::StrJoin(all.begin() + from, all.end(), "\n");
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path
                                                      : path.substr(slash + 1));
}

// Creates a fresh file for a child's output; returns its path.
absl::StatusOr<std::string> MakeOutputFile(absl::string_view program,
                                           absl::string_view stream) {
  std::string templ = absl::StrCat(TestTempDir(), "/", Basename(program), ".",
                                   stream, ".XXXXXX");
  int fd = mkstemp(templ.data());
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("mkstemp ", templ, ": ", std::strerror(errno)));
  }
  close(fd);
  return templ;
}

int ExitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

std::string TestTempDir() {
  for (const char* name : {"TEST_TMPDIR", "TMPDIR"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/tmp";
}

absl::StatusOr<std::string> RunfilePath(absl::string_view workspace_path) {
  std::vector<std::string> tried;
  auto exists = [&](const std::string& candidate) {
    tried.push_back(candidate);
    return access(candidate.c_str(), F_OK) == 0;
  };
  for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    const char* dir = std::getenv(var);
    if (dir == nullptr || *dir == '\0') continue;
    std::string c = absl::StrCat(dir, "/vantage/", workspace_path);
    if (exists(c)) return c;
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    std::string c = absl::StrCat(exe, ".runfiles/vantage/", workspace_path);
    if (exists(c)) return c;
  }
  const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (ws != nullptr && *ws != '\0') {
    std::string c = absl::StrCat(ws, "/", workspace_path);
    if (exists(c)) return c;
  }
  std::string c(workspace_path);
  if (exists(c)) return c;
  return absl::NotFoundError(absl::StrCat("runfile ", workspace_path,
                                          " not found; tried ",
                                          absl::StrJoin(tried, ", ")));
}

absl::StatusOr<std::string> FindProgram(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (absl::StrContains(name, '/')) {
    std::string p(name);
    if (access(p.c_str(), X_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(p, " is not executable: ",
                                              std::strerror(errno)));
    }
    return p;
  }
  const char* path_env = std::getenv("PATH");
  std::string search = absl::StrCat(path_env != nullptr ? path_env : "",
                                    ":/usr/local/sbin:/usr/sbin:/sbin:/usr/"
                                    "local/bin:/usr/bin:/bin");
  for (absl::string_view dir : absl::StrSplit(search, ':', absl::SkipEmpty())) {
    std::string candidate = absl::StrCat(dir, "/", name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::NotFoundError(
      absl::StrCat("program ", name, " not found in PATH or /usr/sbin:/sbin"));
}

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const Options& options) {
  if (options.argv.empty()) {
    return absl::InvalidArgumentError("Subprocess: argv is empty");
  }
  absl::StatusOr<std::string> program = FindProgram(options.argv[0]);
  if (!program.ok()) return program.status();

  std::string out_path = options.stdout_path;
  std::string err_path = options.stderr_path;
  if (out_path.empty()) {
    absl::StatusOr<std::string> p = MakeOutputFile(options.argv[0], "stdout");
    if (!p.ok()) return p.status();
    out_path = *p;
  }
  if (err_path.empty()) {
    absl::StatusOr<std::string> p = MakeOutputFile(options.argv[0], "stderr");
    if (!p.ok()) return p.status();
    err_path = *p;
  }
  int oflags = O_WRONLY | O_CREAT | O_CLOEXEC |
               (options.append_output ? O_APPEND : O_TRUNC);
  int out_fd = open(out_path.c_str(), oflags, 0644);
  if (out_fd < 0) {
    return absl::InternalError(
        absl::StrCat("open ", out_path, ": ", std::strerror(errno)));
  }
  int err_fd = out_path == err_path ? dup(out_fd)
                                    : open(err_path.c_str(), oflags, 0644);
  if (err_fd < 0) {
    close(out_fd);
    return absl::InternalError(
        absl::StrCat("open ", err_path, ": ", std::strerror(errno)));
  }
  // stdin: a temporary file holding stdin_data (unlinked at once), or
  // /dev/null.
  int in_fd = -1;
  if (options.stdin_data.empty()) {
    in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  } else {
    std::string templ = absl::StrCat(TestTempDir(), "/stdin.XXXXXX");
    in_fd = mkostemp(templ.data(), O_CLOEXEC);
    if (in_fd >= 0) {
      unlink(templ.c_str());
      const std::string& d = options.stdin_data;
      if (write(in_fd, d.data(), d.size()) != static_cast<ssize_t>(d.size()) ||
          lseek(in_fd, 0, SEEK_SET) != 0) {
        close(in_fd);
        in_fd = -1;
      }
    }
  }
  int ns_fd = -1;
  if (!options.netns.empty()) {
    std::string ns_path = NetnsPath(options.netns);
    ns_fd = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      int e = errno;
      close(out_fd);
      close(err_fd);
      if (in_fd >= 0) close(in_fd);
      return absl::NotFoundError(absl::StrCat(
          "network namespace ", ns_path, ": ", std::strerror(e)));
    }
  }
  int exec_pipe[2];
  if (in_fd < 0 || pipe2(exec_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(out_fd);
    close(err_fd);
    if (in_fd >= 0) close(in_fd);
    if (ns_fd >= 0) close(ns_fd);
    return absl::InternalError(
        absl::StrCat("stdin/pipe setup: ", std::strerror(e)));
  }

  // Everything the child needs is built before fork(): after fork() in a
  // multi-threaded process only async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    bool overridden = false;
    for (const auto& [name, value] : options.env) {
      if (absl::StartsWith(kv, absl::StrCat(name, "="))) overridden = true;
    }
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const auto& [name, value] : options.env) {
    env_strings.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const char* workdir =
      options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    for (int fd : {out_fd, err_fd, in_fd, exec_pipe[0], exec_pipe[1]}) {
      close(fd);
    }
    if (ns_fd >= 0) close(ns_fd);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(e)));
  }
  if (pid == 0) {
    // Child.
    auto fail = [&](int step) {
      int payload[2] = {step, errno};
      ssize_t ignored = write(exec_pipe[1], payload, sizeof(payload));
      (void)ignored;
      _exit(127);
    };
    if (options.kill_with_parent) {
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail(1);
      if (getppid() != parent) _exit(127);  // parent already gone
    }
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) {
      signal(sig, SIG_DFL);
    }
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) != 0) fail(2);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) {
      fail(3);
    }
    // Keep only stdio and the exec-status pipe (CLOEXEC): sockets that the
    // test's libraries opened without CLOEXEC must not leak into servers.
    int keep = exec_pipe[1];
    if (keep > 3) close_range(3, keep - 1, 0);
    close_range(keep + 1, ~0U, 0);
    if (workdir != nullptr && chdir(workdir) != 0) fail(4);
    execve(program->c_str(), argv.data(), envp.data());
    fail(5);
  }
  // Parent.
  close(out_fd);
  close(err_fd);
  close(in_fd);
  if (ns_fd >= 0) close(ns_fd);
  close(exec_pipe[1]);
  int payload[2] = {0, 0};
  ssize_t n;
  do {
    n = read(exec_pipe[0], payload, sizeof(payload));
  } while (n < 0 && errno == EINTR);
  close(exec_pipe[0]);
  if (n > 0) {
    int wstatus;
    waitpid(pid, &wstatus, 0);
    static const char* const kSteps[] = {"?", "prctl", "setns", "dup2",
                                         "chdir", "execve"};
    int step = payload[0] >= 1 && payload[0] <= 5 ? payload[0] : 0;
    return absl::InternalError(absl::StrCat("starting ", *program, ": ",
                                            kSteps[step], ": ",
                                            std::strerror(payload[1])));
  }
  return std::unique_ptr<Subprocess>(
      new Subprocess(options, pid, std::move(out_path), std::move(err_path)));
}

Subprocess::Subprocess(Options options, pid_t pid, std::string stdout_path,
                       std::string stderr_path)
    : options_(std::move(options)),
      pid_(pid),
      stdout_path_(std::move(stdout_path)),
      stderr_path_(std::move(stderr_path)) {}

Subprocess::~Subprocess() { Stop(); }

bool Subprocess::Running() {
  if (exit_code_.has_value()) return false;
  int wstatus;
  pid_t r = waitpid(pid_, &wstatus, WNOHANG);
  if (r == pid_) {
    exit_code_ = ExitCodeOf(wstatus);
    return false;
  }
  return r == 0;
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (!Running()) return *exit_code_;
  absl::Time deadline = absl::Now() + timeout;
  // A pidfd becomes readable when the child exits: no polling interval.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  while (Running()) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      if (pidfd >= 0) close(pidfd);
      return absl::DeadlineExceededError(
          absl::StrCat(options_.argv[0], " (pid ", pid_, ") still running after ",
                       absl::FormatDuration(timeout)));
    }
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      poll(&p, 1,
           static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    } else {
      usleep(2000);
    }
  }
  if (pidfd >= 0) close(pidfd);
  return *exit_code_;
}

void Subprocess::Signal(int sig) {
  if (Running()) kill(pid_, sig);
}

int Subprocess::Stop() {
  if (!Running()) return *exit_code_;
  kill(pid_, SIGTERM);
  absl::StatusOr<int> code = Wait(options_.stop_grace);
  if (code.ok()) return *code;
  kill(pid_, SIGKILL);
  int wstatus;
  while (waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = ExitCodeOf(wstatus);
  return *exit_code_;
}

std::string Subprocess::Stdout() const { return ReadAll(stdout_path_); }
std::string Subprocess::Stderr() const {
  return stderr_path_ == stdout_path_ ? "" : ReadAll(stderr_path_);
}

std::string Subprocess::Tail(int lines) const {
  return absl::StrCat("--- stdout of ", options_.argv[0], " (", stdout_path_,
                      ") ---\n", LastLines(Stdout(), lines), "\n--- stderr (",
                      stderr_path_, ") ---\n", LastLines(Stderr(), lines));
}

absl::StatusOr<int> Subprocess::WaitForPort(absl::string_view needle, absl::Duration timeout) {
  absl::StatusOr<std::string> line = WaitForOutput(needle, timeout);
  if (!line.ok()) return line.status();
  const absl::string_view text = absl::StripTrailingAsciiWhitespace(*line);
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InternalError(absl::StrCat("no port in \"", text, "\""));
  }
  return port;
}

absl::StatusOr<std::string> Subprocess::WaitForOutput(absl::string_view needle,
                                                      absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    // Read before checking Running() so output written just before exiting
    // is still seen.
    bool running = Running();
    for (const std::string& text : {Stdout(), Stderr()}) {
      for (absl::string_view line : absl::StrSplit(text, '\n')) {
        if (absl::StrContains(line, needle)) return std::string(line);
      }
    }
    if (!running) {
      return absl::FailedPreconditionError(
          absl::StrCat(options_.argv[0], " exited with code ", *exit_code_,
                       " before printing \"", needle, "\"\n", Tail()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no \"", needle, "\" from ", options_.argv[0], " within ",
          absl::FormatDuration(timeout), "\n", Tail()));
    }
    usleep(5000);
  }
}

absl::Status Subprocess::WaitForTcpPort(absl::string_view host, int port,
                                        absl::Duration timeout) {
  struct in_addr addr;
  std::string host_str(host);
  if (inet_pton(AF_INET, host_str.c_str(), &addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("WaitForTcpPort: not an IPv4 address: ", host));
  }
  absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool connected = false;
    absl::Status ns = RunInNetworkNamespace(options_.netns, [&] {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return;
      struct sockaddr_in sa;
      std::memset(&sa, 0, sizeof(sa));
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<uint16_t>(port));
      sa.sin_addr = addr;
      connected =
          connect(fd, reinterpret_cast<struct sockaddr*>(&sa), sizeof(sa)) == 0;
      close(fd);
    });
    if (!ns.ok()) return ns;
    if (connected) return absl::OkStatus();
    if (!Running()) {
      return absl::FailedPreconditionError(
          absl::StrCat(options_.argv[0], " exited with code ", *exit_code_,
                       " before listening on ", host, ":", port, "\n", Tail()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(host, ":", port, " not accepting connections within ",
                       absl::FormatDuration(timeout), "\n", Tail()));
    }
    usleep(5000);
  }
}

Subprocess::Options CommandOptions(std::vector<std::string> argv) {
  Subprocess::Options options;
  options.argv = std::move(argv);
  return options;
}

absl::StatusOr<RunResult> RunCommand(std::vector<std::string> argv,
                                     absl::Duration timeout) {
  return RunCommand(CommandOptions(std::move(argv)), timeout);
}

absl::StatusOr<RunResult> RunCommandOk(std::vector<std::string> argv,
                                       absl::Duration timeout) {
  return RunCommandOk(CommandOptions(std::move(argv)), timeout);
}

absl::StatusOr<RunResult> RunCommand(const Subprocess::Options& options,
                                     absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(options);
  if (!p.ok()) return p.status();
  absl::StatusOr<int> code = (*p)->Wait(timeout);
  RunResult result;
  if (!code.ok()) {
    (*p)->Signal(SIGKILL);
    (*p)->Stop();
    return absl::DeadlineExceededError(
        absl::StrCat(absl::StrJoin(options.argv, " "), ": no exit within ",
                     absl::FormatDuration(timeout), "\n", (*p)->Tail()));
  }
  result.exit_code = *code;
  result.stdout_text = (*p)->Stdout();
  result.stderr_text = (*p)->Stderr();
  // Temporary output files of short commands are not kept.
  if (options.stdout_path.empty()) unlink((*p)->stdout_path().c_str());
  if (options.stderr_path.empty()) unlink((*p)->stderr_path().c_str());
  return result;
}

absl::StatusOr<RunResult> RunCommandOk(const Subprocess::Options& options,
                                       absl::Duration timeout) {
  absl::StatusOr<RunResult> r = RunCommand(options, timeout);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(options.argv, " "), " exited with code ", r->exit_code,
        ": ", LastLines(r->stderr_text + r->stdout_text, 20)));
  }
  return r;
}

}  // namespace vantage::harness
