#include "embed/testing/test_certs.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace embed::testing {
namespace {

// Extensions of every certificate; our own file so the system's openssl.cnf
// cannot change the result.
constexpr const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

std::string ReadTail(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::string all = text.str();
  constexpr std::size_t kTailBytes = 2000;
  return all.size() > kTailBytes ? all.substr(all.size() - kTailBytes) : all;
}

// Runs `openssl args...` with stdin from /dev/null and output appended to
// `log`; kUnavailable when it cannot start, kIoError when it fails.
Status RunOpenssl(const std::vector<std::string>& args, const std::string& log,
                  const std::string& step) {
  std::vector<std::string> full = {"openssl"};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : full) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int spawned = posix_spawnp(&pid, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    return UnavailableError("cannot run openssl: " + std::string(std::strerror(spawned)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoError("waitpid(openssl) failed: " + std::string(std::strerror(errno)));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    return UnavailableError("openssl is not installed (exit status 127)");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return IoError("openssl failed to " + step + ": " + ReadTail(log));
  }
  return Status::Ok();
}

// Creates (or truncates) `path` with mode 0600 so the key never exists
// readable by others; openssl then writes into it.
Status CreatePrivateFile(const std::string& path) {
  int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (descriptor < 0) {
    return IoError("cannot create '" + path + "': " + std::strerror(errno));
  }
  ::fchmod(descriptor, 0600);
  ::close(descriptor);
  return Status::Ok();
}

Status MakeKey(const std::string& path, const std::string& log) {
  EMBED_RETURN_IF_ERROR(CreatePrivateFile(path));
  return RunOpenssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", path},
                    log, "make key " + path);
}

Status MakeCa(const std::string& key, const std::string& cert, const std::string& name,
              const std::string& config, const std::string& log) {
  EMBED_RETURN_IF_ERROR(MakeKey(key, log));
  return RunOpenssl({"req", "-x509", "-new", "-key", key, "-sha256", "-days", "30", "-subj",
                     "/CN=" + name, "-config", config, "-extensions", "ca", "-out", cert},
                    log, "make CA certificate " + cert);
}

Status MakeLeaf(const std::string& key, const std::string& cert, const std::string& name,
                const std::string& section, const std::string& serial, const TestCerts& certs,
                const std::string& config, const std::string& log) {
  EMBED_RETURN_IF_ERROR(MakeKey(key, log));
  std::string request = cert + ".csr";
  EMBED_RETURN_IF_ERROR(RunOpenssl({"req", "-new", "-key", key, "-subj", "/CN=" + name,
                                    "-config", config, "-out", request},
                                   log, "make request " + request));
  EMBED_RETURN_IF_ERROR(RunOpenssl(
      {"x509", "-req", "-in", request, "-CA", certs.ca_cert, "-CAkey", certs.ca_key,
       "-set_serial", serial, "-days", "30", "-sha256", "-extfile", config, "-extensions",
       section, "-out", cert},
      log, "sign " + cert));
  std::error_code ignored;
  std::filesystem::remove(request, ignored);
  return Status::Ok();
}

}  // namespace

Result<TestCerts> GenerateTestCerts(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return IoError("cannot create '" + dir + "': " + error.message());

  TestCerts certs;
  certs.dir = dir;
  certs.ca_cert = dir + "/ca.pem";
  certs.ca_key = dir + "/ca.key";
  certs.server_cert = dir + "/server.pem";
  certs.server_key = dir + "/server.key";
  certs.client_cert = dir + "/client.pem";
  certs.client_key = dir + "/client.key";
  certs.other_ca_cert = dir + "/other_ca.pem";

  const std::string config = dir + "/openssl.cnf";
  const std::string log = dir + "/openssl.log";
  {
    std::ofstream file(config, std::ios::trunc);
    file << kOpensslConfig;
    if (!file) return IoError("cannot write '" + config + "'");
  }
  std::filesystem::remove(log, error);

  EMBED_RETURN_IF_ERROR(MakeCa(certs.ca_key, certs.ca_cert, "Embed Test CA", config, log));
  EMBED_RETURN_IF_ERROR(MakeLeaf(certs.server_key, certs.server_cert, "localhost", "server",
                                 "1001", certs, config, log));
  EMBED_RETURN_IF_ERROR(MakeLeaf(certs.client_key, certs.client_cert, "embed-test-client",
                                 "client", "1002", certs, config, log));
  EMBED_RETURN_IF_ERROR(
      MakeCa(dir + "/other_ca.key", certs.other_ca_cert, "Embed Other Test CA", config, log));
  return certs;
}

const TestCerts& SharedTestCerts() {
  struct Holder {
    Holder() {
      char pattern[] = "/tmp/embed-test-certs-XXXXXX";
      if (::mkdtemp(pattern) == nullptr) Die(std::string("mkdtemp: ") + std::strerror(errno));
      dir = pattern;
      Result<TestCerts> generated = GenerateTestCerts(dir);
      if (!generated.ok()) Die(generated.status().ToString());
      certs = std::move(generated).value();
    }
    ~Holder() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
    [[noreturn]] static void Die(const std::string& why) {
      std::fprintf(stderr, "SharedTestCerts: %s\n", why.c_str());
      std::abort();
    }
    std::string dir;
    TestCerts certs;
  };
  static const Holder holder;
  return holder.certs;
}

}  // namespace embed::testing
