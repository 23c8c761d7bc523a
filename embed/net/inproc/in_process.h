#pragma once
// The process-wide registry behind "inproc://<name>" URLs: a broker registers
// a name with a way to pick an io_context and to accept the server end of a
// new pipe; a client in the same process dials the name and gets the other
// end (pipe_stream.h). Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/io_context.hpp>

#include "embed/base/result.h"
#include "embed/net/inproc/pipe_stream.h"

namespace embed::net {

// Chooses the io_context a new server end is bound to (e.g. the next I/O thread).
using ContextPicker = std::function<boost::asio::io_context&()>;
// Takes the server end of a new connection. Runs on the dialing thread while
// the dial is in progress, so it must be quick (post the real work to the
// server end's context).
using PipeAcceptor = std::function<void(PipeStream server_end)>;

// RAII: the name stays registered while this object lives. The destructor
// unregisters it and waits for a dial that is running on_accept to return,
// so no on_accept call runs after it. Do not destroy it from inside the
// picker or the acceptor (that would wait for itself).
class InProcessRegistration {
 public:
  InProcessRegistration(const InProcessRegistration&) = delete;
  InProcessRegistration& operator=(const InProcessRegistration&) = delete;
  ~InProcessRegistration();

  const std::string& name() const { return name_; }

 private:
  friend Result<std::unique_ptr<InProcessRegistration>> RegisterInProcess(std::string,
                                                                          ContextPicker,
                                                                          PipeAcceptor);
  InProcessRegistration(std::string name, std::uint64_t id) : name_(std::move(name)), id_(id) {}

  std::string name_;
  std::uint64_t id_;
};

// Registers `name` (non-empty: kInvalidArgument; kAlreadyExists if taken).
Result<std::unique_ptr<InProcessRegistration>> RegisterInProcess(std::string name,
                                                                 ContextPicker pick,
                                                                 PipeAcceptor on_accept);

// Connects to `name`: kUnavailable when nobody is registered under it. The
// client end is bound to client_context; the server end went to on_accept.
Result<PipeStream> DialInProcess(std::string_view name, boost::asio::io_context& client_context);

// The URL scheme prefix ("inproc://").
inline constexpr std::string_view kInProcessScheme = "inproc://";

}  // namespace embed::net
