#include "embed/net/tls/tls_context.h"

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "embed/testing/test_certs.h"

namespace embed::net {
namespace {

using embed::testing::SharedTestCerts;


TlsConfig Config(std::string cert_file, std::string key_file, std::string ca_file,
                 bool verify_peer) {
  TlsConfig config;
  config.cert_file = std::move(cert_file);
  config.key_file = std::move(key_file);
  config.ca_file = std::move(ca_file);
  config.verify_peer = verify_peer;
  return config;
}

TEST(TestCerts, WritesEveryFileWithPrivateKeysOnlyReadableByTheOwner) {
  const auto& certs = SharedTestCerts();
  for (const std::string& path : {certs.ca_cert, certs.server_cert, certs.client_cert,
                                  certs.other_ca_cert, certs.ca_key, certs.server_key,
                                  certs.client_key}) {
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0) << path;
    EXPECT_GT(info.st_size, 100) << path;
  }
  for (const std::string& key : {certs.ca_key, certs.server_key, certs.client_key}) {
    struct stat info {};
    ASSERT_EQ(::stat(key.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u) << key;
  }
}

TEST(TlsContext, BuildsServerAndClientContextsFromTheTestCertificates) {
  const auto& certs = SharedTestCerts();
  auto server = TlsContext::CreateServer(
      Config(certs.server_cert, certs.server_key, certs.ca_cert, true));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE((*server)->is_server());
  EXPECT_TRUE((*server)->verify_peer());
  EXPECT_NE((*server)->native_handle(), nullptr);

  auto client = TlsContext::CreateClient(
      Config(certs.client_cert, certs.client_key, certs.ca_cert, true));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_FALSE((*client)->is_server());

  // A client that trusts the system's CAs needs no file at all.
  auto system_client = TlsContext::CreateClient({});
  ASSERT_TRUE(system_client.ok()) << system_client.status().ToString();
}

TEST(TlsContext, MissingFileIsAnIoErrorNamingTheFile) {
  const auto& certs = SharedTestCerts();
  const std::string missing = certs.dir + "/no_such_cert.pem";
  auto server = TlsContext::CreateServer(Config(missing, certs.server_key, "", false));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kIoError);
  EXPECT_NE(server.status().message().find(missing), std::string_view::npos)
      << server.status().ToString();
  EXPECT_NE(server.status().message().find("No such file"), std::string_view::npos)
      << server.status().ToString();

  auto client = TlsContext::CreateClient(Config("", "", certs.dir + "/no_such_ca.pem", true));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kIoError);
  EXPECT_NE(client.status().message().find("no_such_ca.pem"), std::string_view::npos);
}

TEST(TlsContext, KeyThatDoesNotMatchTheCertificateIsRejected) {
  const auto& certs = SharedTestCerts();
  auto server = TlsContext::CreateServer(
      Config(certs.server_cert, certs.client_key, "", false));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find("does not match"), std::string_view::npos)
      << server.status().ToString();
  EXPECT_NE(server.status().message().find(certs.client_key), std::string_view::npos);
}

TEST(TlsContext, FileWithoutPemDataIsRejectedWithOpenSslsReason) {
  const auto& certs = SharedTestCerts();
  const std::string garbage = certs.dir + "/garbage.pem";
  std::ofstream(garbage) << "this is not a certificate\n";
  auto server = TlsContext::CreateServer(Config(garbage, certs.server_key, "", false));
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(server.status().message().find(garbage), std::string_view::npos);
  EXPECT_NE(server.status().message().find("PEM"), std::string_view::npos)
      << server.status().ToString();

  auto client = TlsContext::CreateClient(Config("", "", garbage, true));
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
}

TEST(TlsContext, MissingSettingsAreInvalidArguments) {
  const auto& certs = SharedTestCerts();
  auto no_key = TlsContext::CreateServer(Config(certs.server_cert, "", "", true));
  EXPECT_EQ(no_key.status().code(), StatusCode::kInvalidArgument);
  // Verifying clients without a CA to verify them with is a configuration bug.
  auto no_ca = TlsContext::CreateServer(
      Config(certs.server_cert, certs.server_key, "", true));
  EXPECT_EQ(no_ca.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_ca.status().message().find("CA"), std::string_view::npos);
  auto half_client = TlsContext::CreateClient(Config(certs.client_cert, "", "", true));
  EXPECT_EQ(half_client.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace embed::net
