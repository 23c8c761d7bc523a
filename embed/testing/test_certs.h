#pragma once
// Test certificates made at test time with the openssl CLI, so no private
// key is ever committed: a CA, a server certificate (SAN DNS:localhost,
// IP:127.0.0.1) and a client certificate signed by it, and an unrelated CA
// for negative tests. EC P-256 keys (fast), valid 30 days. Thread-compatible.
//
//   auto certs = embed::testing::GenerateTestCerts(temp_dir);
//   TlsConfig server{.cert_file = certs->server_cert, .key_file = certs->server_key};

#include <string>

#include "embed/base/result.h"

namespace embed::testing {

// Paths of the PEM files GenerateTestCerts wrote (all inside `dir`).
struct TestCerts {
  std::string dir;
  std::string ca_cert;
  std::string ca_key;
  std::string server_cert;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
  std::string server_key;
  std::string client_cert;  // CN=embed-test-client, clientAuth, signed by ca
  std::string client_key;
  std::string other_ca_cert;  // an unrelated CA: verifies nothing above
};

// Creates `dir` if needed and writes fresh certificates and keys into it
// (keys with mode 0600), overwriting earlier ones; caches nothing. Runs
// `openssl` from PATH quietly (its output goes to dir/openssl.log).
// kUnavailable when openssl cannot run, kIoError when a step fails (the
// message names the step and ends with openssl's output).
Result<TestCerts> GenerateTestCerts(const std::string& dir);

// The certificates of this process: generated on first use into a fresh
// temporary directory that is removed when the process exits. Tests share
// them instead of each making their own. Thread-safe. When they cannot be
// made (no openssl), prints why and aborts: no TLS test can run then.
const TestCerts& SharedTestCerts();

}  // namespace embed::testing
