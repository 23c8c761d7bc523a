#include "embed/net/tls/tls_context.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace embed::net {
namespace {

// OpenSSL's reasons for the errors queued on this thread, oldest first,
// joined by "; " (the queue is cleared).
std::string TakeOpenSslErrors() {
  std::string reasons;
  while (unsigned long code = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(code);
    if (!reasons.empty()) reasons += "; ";
    reasons += reason != nullptr ? reason : "error " + std::to_string(code);
  }
  return reasons.empty() ? std::string("unknown OpenSSL error") : reasons;
}

// kIoError naming `file` when it cannot be opened for reading.
Status CheckReadable(std::string_view what, const std::string& file) {
  if (::access(file.c_str(), R_OK) == 0) return Status::Ok();
  return IoError("TLS " + std::string(what) + " '" + file + "' cannot be read: " +
                 std::strerror(errno));
}

Status LoadCertificateAndKey(SSL_CTX* context, const TlsConfig& config) {
  EMBED_RETURN_IF_ERROR(CheckReadable("certificate file", config.cert_file));
  EMBED_RETURN_IF_ERROR(CheckReadable("key file", config.key_file));
  if (SSL_CTX_use_certificate_chain_file(context, config.cert_file.c_str()) != 1) {
    return InvalidArgumentError("TLS certificate file '" + config.cert_file +
                                "' holds no valid PEM certificate: " + TakeOpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(context, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL checks the pair while loading the key.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return InvalidArgumentError("TLS key file '" + config.key_file +
                                  "' does not match the certificate in '" + config.cert_file +
                                  "': " + TakeOpenSslErrors());
    }
    return InvalidArgumentError("TLS key file '" + config.key_file +
                                "' holds no valid PEM private key: " + TakeOpenSslErrors());
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return InvalidArgumentError("TLS key file '" + config.key_file +
                                "' does not match the certificate in '" + config.cert_file +
                                "': " + TakeOpenSslErrors());
  }
  return Status::Ok();
}

Status LoadCa(SSL_CTX* context, const std::string& ca_file) {
  EMBED_RETURN_IF_ERROR(CheckReadable("CA file", ca_file));
  if (SSL_CTX_load_verify_locations(context, ca_file.c_str(), nullptr) != 1) {
    return InvalidArgumentError("TLS CA file '" + ca_file +
                                "' holds no valid PEM certificate: " + TakeOpenSslErrors());
  }
  return Status::Ok();
}

// Settings every context shares.
SSL_CTX* NewContext(bool is_server) {
  SSL_CTX* context = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
  if (context == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  // Idle connections give their record buffers back. No auto chain: we send
  // the chain in cert_file, as nats-server does, never the CA store's roots.
  SSL_CTX_set_mode(context, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
  // Renegotiation would let the peer make us write records while reading.
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
  return context;
}

}  // namespace

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

Result<std::shared_ptr<TlsContext>> TlsContext::CreateServer(const TlsConfig& config) {
  if (config.cert_file.empty() || config.key_file.empty()) {
    return InvalidArgumentError("TLS server needs a certificate file and a key file");
  }
  if (config.verify_peer && config.ca_file.empty()) {
    return InvalidArgumentError(
        "TLS server verifying client certificates needs a CA file to verify them with");
  }
  ERR_clear_error();
  SSL_CTX* raw = NewContext(true);
  if (raw == nullptr) return InternalError("SSL_CTX_new failed: " + TakeOpenSslErrors());
  std::shared_ptr<TlsContext> context(new TlsContext(raw, true, config.verify_peer));
  EMBED_RETURN_IF_ERROR(LoadCertificateAndKey(raw, config));
  // No resumption: our peers do not use tickets, and none means no records
  // written after the handshake.
  SSL_CTX_set_num_tickets(raw, 0);
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  if (!config.ca_file.empty()) {
    EMBED_RETURN_IF_ERROR(LoadCa(raw, config.ca_file));
    if (config.verify_peer) {
      // Tells clients which CAs we accept, so they pick the right certificate.
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(config.ca_file.c_str());
      if (names != nullptr) SSL_CTX_set_client_CA_list(raw, names);
      ERR_clear_error();
    }
  }
  SSL_CTX_set_verify(raw, config.verify_peer ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                             : SSL_VERIFY_NONE,
                     nullptr);
  return context;
}

Result<std::shared_ptr<TlsContext>> TlsContext::CreateClient(const TlsConfig& config) {
  if (config.cert_file.empty() != config.key_file.empty()) {
    return InvalidArgumentError(
        "TLS client certificate needs both a certificate file and a key file");
  }
  ERR_clear_error();
  SSL_CTX* raw = NewContext(false);
  if (raw == nullptr) return InternalError("SSL_CTX_new failed: " + TakeOpenSslErrors());
  std::shared_ptr<TlsContext> context(new TlsContext(raw, false, config.verify_peer));
  if (!config.cert_file.empty()) EMBED_RETURN_IF_ERROR(LoadCertificateAndKey(raw, config));
  if (!config.ca_file.empty()) {
    EMBED_RETURN_IF_ERROR(LoadCa(raw, config.ca_file));
  } else if (config.verify_peer && SSL_CTX_set_default_verify_paths(raw) != 1) {
    return InternalError("TLS cannot load the system's CA paths: " + TakeOpenSslErrors());
  }
  SSL_CTX_set_verify(raw, config.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return context;
}

}  // namespace embed::net
