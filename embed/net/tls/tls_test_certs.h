#pragma once
// Test-only: the certificates of embed_net_tls_test, generated once per test
// process in a fresh temporary folder that is removed when the process ends.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "embed/testing/test_certs.h"

namespace embed::net::test {

// The process's certificates; fails the test (fatally) when openssl fails.
inline const embed::testing::TestCerts& Certs() {
  struct Holder {
    Holder() {
      char pattern[] = "/tmp/embed_tls_test_XXXXXX";
      if (char* dir = ::mkdtemp(pattern)) {
        dir_path = dir;
        auto generated = embed::testing::GenerateTestCerts(dir_path);
        if (generated.ok()) {
          certs = *generated;
        } else {
          failure = generated.status().ToString();
        }
      } else {
        failure = "mkdtemp failed";
      }
    }
    ~Holder() {
      std::error_code ignored;
      if (!dir_path.empty()) std::filesystem::remove_all(dir_path, ignored);
    }
    std::string dir_path;
    embed::testing::TestCerts certs;
    std::string failure;
  };
  static Holder holder;
  if (!holder.failure.empty()) ADD_FAILURE() << "GenerateTestCerts: " << holder.failure;
  return holder.certs;
}

}  // namespace embed::net::test
