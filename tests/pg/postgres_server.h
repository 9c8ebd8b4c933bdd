// PostgresServer: a real PostgreSQL server (Debian's postgresql-15 binaries)
// started for one test and thrown away after it.
//
//   ASSERT_OK_AND_ASSIGN(auto pg, PostgresServer::Start());
//   // pg->uri(): postgresql://vantage:<password>@127.0.0.1:<port>/vantage
//   ASSERT_OK_AND_ASSIGN(std::string uri, pg->CreateDatabase("case_1"));
//   pg->Stop(); ... pg->Restart();   // the same data and port again
//
// What Start does: initdb into a fresh temporary directory (password
// authentication over TCP, trust only on the private Unix socket in that
// directory), postgres listening on 127.0.0.1 on a free port, a role
// "vantage" with a random password and a database "vantage" it owns. As root
// the server runs as the `postgres` system user (PostgreSQL refuses root),
// through setpriv(1), which keeps it in the test's process group so Bazel's
// test timeout reaps it too. Readiness is polled (PQping) with a deadline.
#ifndef VANTAGE_TESTS_PG_POSTGRES_SERVER_H_
#define VANTAGE_TESTS_PG_POSTGRES_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tests/harness/subprocess.h"

namespace vantage::pg {

class PostgresServer {
 public:
  struct Options {
    // Directory with initdb and postgres. Empty: $VANTAGE_PG_BIN, else
    // /usr/lib/postgresql/15/bin, else the newest /usr/lib/postgresql/*/bin.
    std::string bin_dir;
    // How long initdb, and then the server start, may take each.
    absl::Duration start_timeout = absl::Seconds(60);
    // Extra `-c name=value` server settings.
    std::vector<std::string> settings;
    // The TCP port to try first; 0 picks a free one. Either way, when the
    // port turns out to be taken, Start moves to another free port (port()
    // says which).
    int port = 0;
  };

  // Start initializes and starts a server. FAILED_PRECONDITION with a clear
  // message (what is missing, how to get it) when it cannot: no binaries,
  // running as root without a `postgres` user, initdb or postgres failing
  // (the message carries the tail of the server log).
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      const Options& options);
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start() {
    return Start(Options());
  }

  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  // Stops the server and deletes its directory.
  ~PostgresServer();

  // uri is the libpq URI of database "vantage" as role "vantage" over TCP.
  std::string uri() const { return UriFor(kDatabase); }
  // UriFor is the same URI for another database on this server.
  std::string UriFor(absl::string_view database) const;
  int port() const { return port_; }
  const std::string& password() const { return password_; }
  // admin_conninfo is a superuser connection string over the Unix socket.
  std::string AdminConnInfo(absl::string_view database = "postgres") const;

  // CreateDatabase creates database `name` ([a-z0-9_]+) owned by role
  // "vantage" and returns its URI (a fresh database per test case).
  absl::StatusOr<std::string> CreateDatabase(absl::string_view name);

  // ExecAsAdmin runs SQL as the superuser in `database`.
  absl::Status ExecAsAdmin(absl::string_view database, absl::string_view sql);

  // Stop shuts the server down the way `pg_ctl stop -m fast` does (SIGINT to
  // the postmaster: roll back open transactions, disconnect clients) and
  // waits for it to exit. Idempotent.
  absl::Status Stop();
  // Restart starts the stopped server again on the same directory and port.
  absl::Status Restart();
  bool running() const { return process_ != nullptr; }

  // Log returns the server's log so far (for failure messages).
  std::string Log() const;

  static constexpr char kRole[] = "vantage";
  static constexpr char kDatabase[] = "vantage";

 private:
  PostgresServer(Options options, std::string bin_dir, std::string dir,
                 std::vector<std::string> run_as, int port, std::string password);

  // Launch starts postgres on data_dir() and waits until it accepts
  // connections.
  absl::Status Launch();
  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/postgres.log"; }

  const Options options_;
  const std::string bin_dir_;
  // The temporary directory: data/, the Unix socket, the log.
  const std::string dir_;
  // Prefix that runs a command as the postgres user (setpriv ...), or empty.
  const std::vector<std::string> run_as_;
  // Chosen at Start (again if the first choice was taken meanwhile).
  int port_;
  const std::string password_;
  std::unique_ptr<harness::Subprocess> process_;
};

}  // namespace vantage::pg

#endif  // VANTAGE_TESTS_PG_POSTGRES_SERVER_H_
