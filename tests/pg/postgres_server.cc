#include "tests/pg/postgres_server.h"

#include <netinet/in.h>
#include <postgresql/libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/harness/subprocess.h"

namespace vantage::pg {
namespace {

constexpr char kAdminRole[] = "pgadmin";
constexpr char kSystemUser[] = "postgres";

struct ConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

absl::StatusOr<std::string> FindBinDir(const std::string& configured) {
  std::vector<std::string> candidates;
  if (!configured.empty()) {
    candidates.push_back(configured);
  } else {
    if (const char* env = std::getenv("VANTAGE_PG_BIN"); env != nullptr && *env) {
      candidates.push_back(env);
    }
    candidates.push_back("/usr/lib/postgresql/15/bin");
    std::error_code ec;
    std::vector<std::string> others;
    for (const auto& entry :
         std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      others.push_back(entry.path().string() + "/bin");
    }
    std::sort(others.rbegin(), others.rend());
    candidates.insert(candidates.end(), others.begin(), others.end());
  }
  for (const std::string& dir : candidates) {
    if (access((dir + "/postgres").c_str(), X_OK) == 0 &&
        access((dir + "/initdb").c_str(), X_OK) == 0) {
      return dir;
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no PostgreSQL server binaries (postgres, initdb) in ",
      absl::StrJoin(candidates, ", "),
      ": install Debian's postgresql package (tools/install-deps.sh does) or "
      "set VANTAGE_PG_BIN"));
}

// FreeLoopbackPort asks the kernel for an unused port on 127.0.0.1. The port
// is free again when postgres binds it a moment later (a race with other
// processes is possible but unlikely; Start then fails with the log).
absl::StatusOr<int> FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(fd);
    return absl::InternalError(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(err)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string RandomPassword() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  absl::BitGen gen;
  std::string out;
  for (int i = 0; i < 24; ++i) {
    out.push_back(kAlphabet[absl::Uniform<size_t>(gen, 0, sizeof(kAlphabet) - 1)]);
  }
  return out;
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tail(const std::string& text, size_t max_bytes = 3000) {
  return text.size() <= max_bytes ? text : text.substr(text.size() - max_bytes);
}

bool IsDatabaseName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    const Options& options) {
  absl::StatusOr<std::string> bin_dir = FindBinDir(options.bin_dir);
  if (!bin_dir.ok()) return bin_dir.status();

  // PostgreSQL refuses to run as root; as root, run it as the postgres
  // system user that Debian's package creates.
  std::vector<std::string> run_as;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (uid == 0) {
    const passwd* pw = getpwnam(kSystemUser);
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and PostgreSQL refuses to run as root, but there "
          "is no 'postgres' user to run it as: install Debian's postgresql "
          "package (it creates the user) or run the test as another user");
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    run_as = {"setpriv", absl::StrCat("--reuid=", uid), absl::StrCat("--regid=", gid),
              "--init-groups", "--"};
  }

  // The directory holds the Unix socket, whose path must stay short (108
  // bytes), and must be reachable by the postgres user: /tmp, not Bazel's
  // TEST_TMPDIR under root's home.
  std::string dir = "/tmp/vantage-pg-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("mkdtemp ", dir, ": ", std::strerror(errno)));
  }
  if (chown(dir.c_str(), uid, gid) != 0) {
    const int err = errno;
    std::filesystem::remove_all(dir);
    return absl::FailedPreconditionError(
        absl::StrCat("chown ", dir, ": ", std::strerror(err)));
  }

  // From here on the destructor removes `dir`.
  absl::StatusOr<int> port = options.port != 0 ? options.port : FreeLoopbackPort();
  if (!port.ok()) {
    std::filesystem::remove_all(dir);
    return port.status();
  }
  auto server = std::unique_ptr<PostgresServer>(new PostgresServer(
      options, *bin_dir, dir, run_as, *port, RandomPassword()));

  std::vector<std::string> initdb = run_as;
  for (std::string arg :
       {*bin_dir + "/initdb", std::string("--pgdata=") + server->data_dir(),
        std::string("--username=") + kAdminRole,
        // Only the test process can reach the socket (directory mode 0700):
        // trust there; the store connects over TCP with the password.
        std::string("--auth-local=trust"), std::string("--auth-host=scram-sha-256"),
        std::string("--encoding=UTF8"), std::string("--locale=C"),
        std::string("--no-sync"), std::string("--no-instructions")}) {
    initdb.push_back(std::move(arg));
  }
  absl::StatusOr<harness::RunResult> init =
      harness::RunCommandOk(std::move(initdb), options.start_timeout);
  if (!init.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("initdb failed: ", init.status().message()));
  }
  // The port was free a moment ago; another process (parallel tests) may
  // take it before postgres binds it. Then try another one.
  for (int attempt = 1;; ++attempt) {
    absl::Status status = server->Launch();
    if (status.ok()) break;
    const bool port_taken = absl::StrContains(server->Log(), "Address already in use");
    if (!port_taken || attempt == 3) return status;
    absl::StatusOr<int> next = FreeLoopbackPort();
    if (!next.ok()) return next.status();
    server->port_ = *next;
  }

  // RandomPassword yields only [A-Za-z0-9], so single quotes suffice.
  if (absl::Status status = server->ExecAsAdmin(
          "postgres", absl::StrCat("CREATE ROLE ", kRole, " LOGIN PASSWORD '",
                                   server->password_, "'"));
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> db = server->CreateDatabase(kDatabase);
  if (!db.ok()) return db.status();
  return server;
}

PostgresServer::PostgresServer(Options options, std::string bin_dir, std::string dir,
                               std::vector<std::string> run_as, int port,
                               std::string password)
    : options_(std::move(options)),
      bin_dir_(std::move(bin_dir)),
      dir_(std::move(dir)),
      run_as_(std::move(run_as)),
      port_(port),
      password_(std::move(password)) {}

PostgresServer::~PostgresServer() {
  (void)Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string PostgresServer::UriFor(absl::string_view database) const {
  return absl::StrCat("postgresql://", kRole, ":", password_, "@127.0.0.1:", port_,
                      "/", database);
}

std::string PostgresServer::AdminConnInfo(absl::string_view database) const {
  return absl::StrCat("host=", dir_, " port=", port_, " user=", kAdminRole,
                      " dbname=", database, " connect_timeout=5");
}

std::string PostgresServer::Log() const { return ReadFileOrEmpty(log_path()); }

absl::Status PostgresServer::Launch() {
  std::vector<std::string> argv = run_as_;
  for (std::string arg :
       {bin_dir_ + "/postgres", std::string("-D"), data_dir(), std::string("-p"),
        absl::StrCat(port_), std::string("-c"), std::string("listen_addresses=127.0.0.1"),
        std::string("-c"), "unix_socket_directories=" + dir_,
        // A throw-away server: durability is not needed, speed is.
        std::string("-c"), std::string("fsync=off"), std::string("-c"),
        std::string("synchronous_commit=off"), std::string("-c"),
        std::string("full_page_writes=off"), std::string("-c"),
        std::string("logging_collector=off")}) {
    argv.push_back(std::move(arg));
  }
  for (const std::string& setting : options_.settings) {
    argv.push_back("-c");
    argv.push_back(setting);
  }
  harness::Subprocess::Options options = harness::CommandOptions(std::move(argv));
  options.stdout_path = log_path();
  options.stderr_path = log_path();
  options.append_output = true;
  absl::StatusOr<std::unique_ptr<harness::Subprocess>> process =
      harness::Subprocess::Start(options);
  if (!process.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start postgres: ", process.status().message()));
  }
  process_ = *std::move(process);

  // Poll until the server accepts connections, it exits, or the deadline.
  const std::string conninfo = AdminConnInfo();
  const absl::Time deadline = absl::Now() + options_.start_timeout;
  while (true) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    if (!process_->Running()) {
      process_.reset();
      return absl::FailedPreconditionError(
          absl::StrCat("postgres exited during start-up; log:\n", Tail(Log())));
    }
    if (absl::Now() > deadline) {
      (void)Stop();
      return absl::FailedPreconditionError(
          absl::StrCat("postgres did not accept connections within ",
                       absl::FormatDuration(options_.start_timeout), "; log:\n",
                       Tail(Log())));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status PostgresServer::Stop() {
  if (process_ == nullptr) return absl::OkStatus();
  // SIGINT is PostgreSQL's "fast" shutdown, what `pg_ctl stop -m fast` sends.
  process_->Signal(SIGINT);
  absl::StatusOr<int> code = process_->Wait(absl::Seconds(30));
  if (!code.ok()) {
    process_->Signal(SIGQUIT);  // "immediate" shutdown.
    process_->Stop();
  }
  process_.reset();
  if (!code.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("postgres did not stop within 30s; log:\n", Tail(Log())));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Restart() {
  if (process_ != nullptr) {
    return absl::FailedPreconditionError("postgres is already running");
  }
  return Launch();
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(absl::string_view name) {
  if (!IsDatabaseName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("database name \"", name, "\" is not [a-z0-9_]{1,63}"));
  }
  absl::Status status = ExecAsAdmin(
      "postgres", absl::StrCat("CREATE DATABASE ", name, " OWNER ", kRole));
  if (!status.ok()) return status;
  return UriFor(name);
}

absl::Status PostgresServer::ExecAsAdmin(absl::string_view database,
                                         absl::string_view sql) {
  std::unique_ptr<PGconn, ConnCloser> conn(
      PQconnectdb(AdminConnInfo(database).c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        "cannot connect to the test PostgreSQL as ", kAdminRole, ": ",
        PQerrorMessage(conn.get())));
  }
  std::unique_ptr<PGresult, ResultClearer> result(
      PQexec(conn.get(), std::string(sql).c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return absl::InternalError(absl::StrCat("\"", sql, "\" failed: ",
                                            PQresultErrorMessage(result.get())));
  }
  return absl::OkStatus();
}

}  // namespace vantage::pg
