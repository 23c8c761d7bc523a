// Writes the test certificates of embed/testing/test_certs.h into a folder
// and prints "<name>=<path>" per file, for interop runners in other languages.
//
//   make_test_certs /tmp/certs   # ca_cert=/tmp/certs/ca.pem ...

#include <cstdio>
#include <string>
#include <utility>

#include "embed/testing/test_certs.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 2;
  }
  auto certs = embed::testing::GenerateTestCerts(argv[1]);
  if (!certs.ok()) {
    std::fprintf(stderr, "make_test_certs: %s\n", certs.status().ToString().c_str());
    return 1;
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"ca_cert", &certs->ca_cert},         {"ca_key", &certs->ca_key},
      {"server_cert", &certs->server_cert}, {"server_key", &certs->server_key},
      {"client_cert", &certs->client_cert}, {"client_key", &certs->client_key},
      {"other_ca_cert", &certs->other_ca_cert}};
  for (const auto& [name, path] : files) std::printf("%s=%s\n", name, path->c_str());
  return 0;
}
