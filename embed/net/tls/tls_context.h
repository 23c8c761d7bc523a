#pragma once
// TlsContext: the TLS settings shared by many connections (certificate, key,
// trusted CAs, peer verification), built once from a TlsConfig. TlsCodec
// (tls_codec.h) makes one TLS session per connection from it. Immutable once
// built, so one context may serve connections on any number of threads.
// OpenSSL stays out of this header.
//
//   TlsConfig config;
//   config.cert_file = "server.pem";
//   config.key_file = "server.key";
//   config.verify_peer = false;
//   auto context = TlsContext::CreateServer(config);  // share *context among connections

#include <memory>
#include <string>

#include "embed/base/result.h"

// OpenSSL's SSL_CTX, named without including OpenSSL.
struct ssl_ctx_st;

namespace embed::net {

struct TlsConfig {
  // PEM certificate, leaf first then intermediates. Server: required.
  // Client: the certificate it presents for mutual TLS (optional).
  std::string cert_file;
  // PEM private key of cert_file.
  std::string key_file;
  // PEM CA bundle. Server: verifies client certificates (needed when
  // verify_peer). Client: verifies the server; empty means the system's
  // default CA paths.
  std::string ca_file;
  // Client: verify the server's certificate and host name. Server: require
  // and verify a client certificate (mutual TLS).
  bool verify_peer = true;
};

class TlsContext {
 public:
  // Builds a server context. Fails with kIoError when a file cannot be read
  // and kInvalidArgument for a missing setting, a file that holds no valid
  // PEM data, or a key that does not match the certificate; the message
  // names the file and gives OpenSSL's reason.
  static Result<std::shared_ptr<TlsContext>> CreateServer(const TlsConfig& config);

  // Builds a client context; the same errors. cert_file and key_file are
  // either both set (mutual TLS) or both empty.
  static Result<std::shared_ptr<TlsContext>> CreateClient(const TlsConfig& config);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool is_server() const { return is_server_; }
  bool verify_peer() const { return verify_peer_; }

  // The OpenSSL context (SSL_CTX*), owned by this object; for TlsCodec.
  ssl_ctx_st* native_handle() const { return context_; }

 private:
  TlsContext(ssl_ctx_st* context, bool is_server, bool verify_peer)
      : context_(context), is_server_(is_server), verify_peer_(verify_peer) {}

  ssl_ctx_st* context_;
  bool is_server_;
  bool verify_peer_;
};

}  // namespace embed::net
