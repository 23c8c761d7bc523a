#include "embed/net/tls/tls_codec.h"

#include <algorithm>
#include <climits>
#include <string>
#include <utility>

#include <arpa/inet.h>

#include <boost/asio/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace embed::net {
namespace {

class TlsErrorCategory : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    if (value == tls_errc::kFailed) return "TLS failure";
    if (value == tls_errc::kTooMuchInput) return "too many bytes before TLS started";
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
    return reason != nullptr ? reason : "TLS error " + std::to_string(value);
  }
};

// Plaintext decoded per SSL_read call (one TLS record holds at most 16 KiB).
constexpr std::size_t kReadChunkBytes = 16 * 1024;
// A drained memory BIO whose buffer grew past this is replaced by a fresh
// one, so idle connections hold no large buffers.
constexpr std::size_t kRetainedBioBytes = 4 * 1024;

BIO* NewMemoryBio() {
  BIO* bio = BIO_new(BIO_s_mem());
  // An empty BIO means "retry later", not end of input.
  if (bio != nullptr) BIO_set_mem_eof_return(bio, -1);
  return bio;
}

bool IsIpLiteral(const std::string& name) {
  unsigned char address[16];
  return inet_pton(AF_INET, name.c_str(), address) == 1 ||
         inet_pton(AF_INET6, name.c_str(), address) == 1;
}

}  // namespace

const boost::system::error_category& TlsCategory() {
  static const TlsErrorCategory category;
  return category;
}

struct TlsCodec::State {
  enum class Mode {
    kPlaintext,          // client before StartHandshake(): bytes pass through
    kPlaintextNextWrite, // server before its first write: that write goes in clear
    kTls,
  };

  ~State() { SSL_free(ssl); }  // frees both BIOs too

  // Creates the SSL object and its BIOs; false (with error set) on failure.
  bool Init() {
    ssl = SSL_new(context->native_handle());
    BIO* read_bio = NewMemoryBio();
    BIO* write_bio = NewMemoryBio();
    if (ssl == nullptr || read_bio == nullptr || write_bio == nullptr) {
      BIO_free(read_bio);
      BIO_free(write_bio);
      FailWithQueue("cannot create the TLS session");
      return false;
    }
    SSL_set_bio(ssl, read_bio, write_bio);
    if (is_server) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
    }
    return true;
  }

  BIO* read_bio() const { return SSL_get_rbio(ssl); }
  BIO* write_bio() const { return SSL_get_wbio(ssl); }

  void Fail(int value, std::string why) {
    if (error) return;
    error = boost::system::error_code(value, TlsCategory());
    reason = std::move(why);
  }

  // Fails with the oldest OpenSSL error queued on this thread (all of them
  // go into `reason`), adding the certificate verification result if any.
  void FailWithQueue(std::string_view context_text) {
    unsigned long first = ERR_peek_error();
    std::string text;
    while (unsigned long code = ERR_get_error()) {
      const char* why = ERR_reason_error_string(code);
      if (!text.empty()) text += "; ";
      text += why != nullptr ? why : "error " + std::to_string(code);
    }
    if (text.empty()) text = std::string(context_text);
    if (ssl != nullptr) {
      long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK) {
        text += " (";
        text += X509_verify_cert_error_string(verify);
        text += ")";
      }
    }
    int value = tls_errc::kFailed;
    if (first != 0 && !ERR_SYSTEM_ERROR(first)) {
      value = static_cast<int>(ERR_PACK(ERR_GET_LIB(first), 0, ERR_GET_REASON(first)));
    }
    Fail(value, std::move(text));
  }

  // Acts on a failed SSL_* call's result: waiting for input is normal,
  // close_notify from the peer is eof, anything else is the codec's error.
  void OnSslResult(int result) {
    switch (SSL_get_error(ssl, result)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        break;
      case SSL_ERROR_ZERO_RETURN:
        if (!error) {
          error = boost::asio::error::eof;
          reason = "the peer closed the TLS session (close_notify)";
        }
        break;
      default:
        FailWithQueue("TLS session failed");
        break;
    }
    ERR_clear_error();
  }

  // Runs the handshake, then decrypts every complete record into `app`.
  void Drive() {
    if (mode != Mode::kTls || error) return;
    if (!handshake_done) {
      ERR_clear_error();
      int result = SSL_do_handshake(ssl);
      if (result != 1) {
        OnSslResult(result);
        ShrinkIdleBio(true);
        return;
      }
      handshake_done = true;
      if (!held.empty()) {
        WriteTls(held);
        std::string().swap(held);
      }
    }
    if (app_offset > 0) {
      app.erase(0, app_offset);
      app_offset = 0;
    }
    while (!error) {
      std::size_t old_size = app.size();
      app.resize(old_size + kReadChunkBytes);
      ERR_clear_error();
      int count = SSL_read(ssl, app.data() + old_size, static_cast<int>(kReadChunkBytes));
      app.resize(old_size + static_cast<std::size_t>(std::max(count, 0)));
      if (count <= 0) {
        OnSslResult(count);
        break;
      }
    }
    if (app.empty()) std::string().swap(app);
    ShrinkIdleBio(true);
  }

  void WriteTls(std::string_view bytes) {
    while (!bytes.empty() && !error) {
      int size = static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX));
      ERR_clear_error();
      int written = SSL_write(ssl, bytes.data(), size);
      if (written <= 0) {
        OnSslResult(written);
        return;
      }
      bytes.remove_prefix(static_cast<std::size_t>(written));
    }
  }

  // Replaces a drained memory BIO whose buffer grew large.
  void ShrinkIdleBio(bool is_read_side) {
    BIO* bio = is_read_side ? read_bio() : write_bio();
    if (bio == nullptr || BIO_ctrl_pending(bio) != 0) return;
    BUF_MEM* memory = nullptr;
    BIO_get_mem_ptr(bio, &memory);
    if (memory == nullptr || memory->max <= kRetainedBioBytes) return;
    BIO* fresh = NewMemoryBio();
    if (fresh == nullptr) return;
    if (is_read_side) {
      SSL_set0_rbio(ssl, fresh);
    } else {
      SSL_set0_wbio(ssl, fresh);
    }
  }

  std::shared_ptr<TlsContext> context;
  SSL* ssl = nullptr;
  bool is_server = false;
  Mode mode = Mode::kTls;
  bool handshake_done = false;
  bool close_sent = false;
  std::string clear_out;  // plaintext to send before any TLS record (the INFO)
  std::string held;       // application bytes waiting for the handshake
  std::string app;        // decoded bytes; app_offset of them were read
  std::size_t app_offset = 0;
  boost::system::error_code error;
  std::string reason;
};

TlsCodec::TlsCodec(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsCodec::TlsCodec(TlsCodec&&) noexcept = default;
TlsCodec& TlsCodec::operator=(TlsCodec&&) noexcept = default;
TlsCodec::~TlsCodec() = default;

TlsCodec TlsCodec::Server(std::shared_ptr<TlsContext> context, bool plaintext_first_write) {
  auto state = std::make_unique<State>();
  state->context = std::move(context);
  state->is_server = true;
  state->mode = plaintext_first_write ? State::Mode::kPlaintextNextWrite : State::Mode::kTls;
  ERR_clear_error();
  state->Init();
  return TlsCodec(std::move(state));
}

TlsCodec TlsCodec::Client(std::shared_ptr<TlsContext> context, std::string server_name,
                          bool start_in_plaintext) {
  auto state = std::make_unique<State>();
  state->context = std::move(context);
  state->mode = start_in_plaintext ? State::Mode::kPlaintext : State::Mode::kTls;
  ERR_clear_error();
  if (!state->Init()) return TlsCodec(std::move(state));
  if (!server_name.empty()) {
    bool is_ip = IsIpLiteral(server_name);
    // RFC 6066: SNI carries host names only, never IP literals.
    if (!is_ip) SSL_set_tlsext_host_name(state->ssl, server_name.c_str());
    if (state->context->verify_peer()) {
      int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(state->ssl),
                                                      server_name.c_str())
                      : SSL_set1_host(state->ssl, server_name.c_str());
      if (set != 1) {
        state->Fail(tls_errc::kFailed, "invalid TLS server name '" + server_name + "'");
      }
    }
  }
  state->Drive();  // queues the ClientHello unless in plaintext mode
  return TlsCodec(std::move(state));
}

void TlsCodec::StartHandshake() {
  State& state = *state_;
  if (state.is_server || state.mode != State::Mode::kPlaintext) return;
  state.mode = State::Mode::kTls;
  state.Drive();
}

bool TlsCodec::handshake_done() const { return state_->handshake_done; }

std::string TlsCodec::peer_certificate_subject() const {
  if (state_->ssl == nullptr) return "";
  X509* certificate = SSL_get0_peer_certificate(state_->ssl);
  if (certificate == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253);
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  std::string subject = memory != nullptr ? std::string(memory->data, memory->length) : "";
  BIO_free(bio);
  return subject;
}

const std::string& TlsCodec::error_reason() const { return state_->reason; }

void TlsCodec::OnWireInput(std::string_view bytes) {
  State& state = *state_;
  if (state.error || bytes.empty()) return;
  if (state.mode == State::Mode::kPlaintext) {
    state.app.append(bytes);
    return;
  }
  while (!bytes.empty()) {
    int size = static_cast<int>(std::min<std::size_t>(bytes.size(), INT_MAX));
    int written = BIO_write(state.read_bio(), bytes.data(), size);
    if (written <= 0) {
      state.FailWithQueue("cannot buffer TLS input");
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  if (BIO_ctrl_pending(state.read_bio()) > kMaxPendingWireBytes &&
      state.mode == State::Mode::kPlaintextNextWrite) {
    state.Fail(tls_errc::kTooMuchInput, "the peer sent too many bytes before TLS started");
    return;
  }
  state.Drive();
}

bool TlsCodec::has_app_data() const { return state_->app.size() > state_->app_offset; }

std::size_t TlsCodec::ReadApp(char* out, std::size_t size) {
  State& state = *state_;
  std::size_t count = std::min(size, state.app.size() - state.app_offset);
  std::copy_n(state.app.data() + state.app_offset, count, out);
  state.app_offset += count;
  if (state.app_offset == state.app.size()) {
    std::string().swap(state.app);  // idle connections hold no plaintext buffer
    state.app_offset = 0;
  }
  return count;
}

void TlsCodec::EncodeApp(std::string_view bytes, std::string& wire) {
  State& state = *state_;
  if (state.error) return;
  switch (state.mode) {
    case State::Mode::kPlaintext:
      wire.append(bytes);
      return;
    case State::Mode::kPlaintextNextWrite:
      // NATS: INFO goes out in clear, then the client starts the handshake.
      // It leaves through TakeWireOutput so that it precedes the ServerHello.
      state.clear_out.append(bytes);
      state.mode = State::Mode::kTls;
      state.Drive();  // a ClientHello may have arrived already
      return;
    case State::Mode::kTls:
      if (!state.handshake_done) {
        state.held.append(bytes);
      } else {
        state.WriteTls(bytes);
      }
      return;
  }
}

bool TlsCodec::has_wire_output() const {
  const State& state = *state_;
  if (!state.clear_out.empty()) return true;
  return state.ssl != nullptr && state.write_bio() != nullptr &&
         BIO_ctrl_pending(state.write_bio()) > 0;
}

void TlsCodec::TakeWireOutput(std::string& wire) {
  State& state = *state_;
  if (!state.clear_out.empty()) {
    wire.append(state.clear_out);
    std::string().swap(state.clear_out);
  }
  if (state.ssl == nullptr) return;
  BIO* bio = state.write_bio();
  std::size_t pending = BIO_ctrl_pending(bio);
  if (pending == 0) return;
  std::size_t old_size = wire.size();
  wire.resize(old_size + pending);
  int count = BIO_read(bio, wire.data() + old_size, static_cast<int>(pending));
  wire.resize(old_size + static_cast<std::size_t>(std::max(count, 0)));
  state.ShrinkIdleBio(false);
}

boost::system::error_code TlsCodec::error() const { return state_->error; }

void TlsCodec::EncodeClose(int, std::string_view, std::string& wire) {
  State& state = *state_;
  if (state.close_sent || state.mode != State::Mode::kTls || !state.handshake_done) return;
  if (state.error && state.error != boost::asio::error::eof) return;
  state.close_sent = true;
  ERR_clear_error();
  SSL_shutdown(state.ssl);  // queues close_notify; we do not wait for the peer's
  ERR_clear_error();
  TakeWireOutput(wire);
}

}  // namespace embed::net
