#pragma once
// ClientSession<Stream>: the driver of one client connection. It reads from
// the stream into its thread's read buffer, feeds the SessionCore, carries
// out what the core asks (routing through the Router, queuing bytes), and
// writes its Outbox with one gathered write per wake-up. It holds no protocol
// rules. `Stream` is any net::ByteStream (embed/net/stream.h), so TCP,
// TLS, WebSocket and in-process pipes share this code.
// Thread model: everything runs on the owning IoWorker's thread; other
// threads only append to the Outbox and call RequestFlush().

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "embed/base/logger.h"
#include "embed/broker/internal/io_worker.h"
#include "embed/broker/session_core.h"
#include "embed/net/stream.h"

namespace embed::broker {

template <net::ByteStream Stream>
class ClientSession final : public internal::SessionBase,
                            private SessionHost,
                            public std::enable_shared_from_this<ClientSession<Stream>> {
 public:
  // Builds a session for an accepted stream; `config` (the INFO and limits
  // of its listener) must outlive it. Call Start() on the worker's thread.
  ClientSession(Stream stream, internal::IoWorker& worker, const SessionConfig& config,
                std::uint64_t client_id)
      : SessionBase(worker.shared().max_pending_bytes),
        stream_(std::move(stream)),
        worker_(worker),
        shared_(worker.shared()),
        client_id_(client_id),
        core_(config, *this, client_id, stream_.remote_address(), shared_.clock->Now()) {}

  // A stream whose security handshake (TLS after the clear INFO) is still to
  // come must finish it by `deadline` or is dropped.
  void SetHandshakeDeadline(SteadyTime deadline) { handshake_deadline_ = deadline; }

  // Sends INFO (or rejects when `is_over_connection_limit`) and starts reading.
  void Start(bool is_over_connection_limit) {
    worker_.Adopt(client_id_, this->shared_from_this());
    is_counted_ = !is_over_connection_limit;
    if (is_over_connection_limit) {
      core_.RejectMaxConnections();
    } else {
      core_.Start(shared_.clock->Now());
    }
    worker_.FlushDirty();
    if (core_.is_closing()) return BeginClose(core_.close_reason());
    WaitReadable();
  }

  void RequestFlush(int caller_thread) override {
    if (caller_thread == worker_.index()) return StartWrite();
    // Latency: write from the caller's thread when the socket takes it all,
    // instead of waking the owner's thread (nats-server's flushClients does
    // the same).
    if constexpr (net::CrossThreadSendable<Stream>) {
      if (TrySendInline()) return;
    }
    boost::asio::post(stream_.get_executor(),
                      [self = this->shared_from_this()] { self->StartWrite(); });
  }

  void OnTick(SteadyTime now) override {
    if (handshake_deadline_ && state_ == State::kOpen) {
      if (IsHandshakeDone()) {
        handshake_deadline_.reset();
      } else if (now > *handshake_deadline_) {
        return CloseNow(CloseReason::kTlsHandshakeError);
      }
    }
    if (state_ == State::kOpen) {
      core_.OnTick(now);
      if (core_.is_closing()) return BeginClose(core_.close_reason());
    }
    if (write_in_flight_ && now - write_started_ > shared_.write_deadline) {
      return CloseNow(CloseReason::kSlowConsumerWriteDeadline);
    }
    if (state_ == State::kDraining && now > drain_deadline_) {
      return CloseNow(close_reason_);
    }
  }

  void CloseForShutdown() override { CloseNow(CloseReason::kServerShutdown); }

 private:
  enum class State { kOpen, kDraining, kClosed };
  // Bound on how long a closing connection may take to flush its -ERR.
  static constexpr std::chrono::milliseconds kDrainTimeout{1'000};
  // Reads per wake-up before yielding to other connections on the thread.
  static constexpr int kMaxReadsPerWake = 16;
  // Write buffers above this are released after the write instead of reused.
  static constexpr std::size_t kMaxRetainedBufferBytes = 1024 * 1024;
  // Largest single write; larger batches go out in several.
  static constexpr std::size_t kMaxWriteBytes = 256 * 1024;
  // How often a stalled publisher checks whether its receiver drained.
  static constexpr std::chrono::milliseconds kStallPoll{1};

  bool IsHandshakeDone() {
    if constexpr (requires { stream_.codec().handshake_done(); }) {
      return stream_.codec().handshake_done();
    } else {
      return true;
    }
  }

  // SessionHost.
  void Send(ByteView bytes) override { Queue(AppendBytes(bytes)); }

  std::size_t Publish(const Message& message) override {
    RouteBatch& batch = worker_.batch();
    BumpCounter(batch.in_msgs, 1);
    BumpCounter(batch.in_bytes, message.headers.size() + message.payload.size());
    return shared_.router.Route(message, this, core_.connect_options().echo, batch);
  }

  Result<SubscriptionPtr> Subscribe(std::string_view subject, std::string_view queue_group,
                                    std::string_view sid) override {
    auto subscription = std::make_shared<Subscription>(
        std::string(subject), std::string(queue_group), std::string(sid),
        std::static_pointer_cast<Outbox>(this->shared_from_this()));
    Status status = shared_.router.Insert(subscription);
    if (!status.ok()) return status;
    return subscription;
  }

  void Unsubscribe(const SubscriptionPtr& subscription) override {
    shared_.router.Remove(subscription);
  }

  void OnConnected(const wire::ConnectOptions& options) override {
    set_headers_supported(options.headers);
  }

  void Queue(AppendResult result) {
    if (result == AppendResult::kAppendedNeedsFlush || result == AppendResult::kSlowConsumer) {
      worker_.batch().dirty.push_back(this->shared_from_this());
    }
  }

  void WaitReadable() {
    stream_.AsyncWaitReadable(
        [self = this->shared_from_this()](boost::system::error_code error) {
          self->OnReadable(error);
        });
  }

  void OnReadable(boost::system::error_code error) {
    if (state_ != State::kOpen) return;
    if (error) return CloseNow(CloseReason::kClientClosed);
    SteadyTime now = shared_.clock->Now();
    RouteBatch& batch = worker_.batch();
    batch.stall_on.reset();
    batch.now = now;
    for (int reads = 0; reads < kMaxReadsPerWake; ++reads) {
      std::size_t count = stream_.ReadSome(
          boost::asio::buffer(worker_.read_buffer(), internal::IoWorker::kReadBufferBytes), error);
      if (error == boost::asio::error::would_block || error == boost::asio::error::try_again) {
        error = {};
        break;
      }
      if (error) break;
      try {
        core_.Feed(ByteView(worker_.read_buffer(), count), now);
      } catch (const std::exception& exception) {
        // Dependencies may throw (bad_alloc); only this connection is dropped.
        if (shared_.logger != nullptr) {
          shared_.logger->Log(LogLevel::kError,
                              std::string("session dropped: ") + exception.what());
        }
        worker_.FlushDirty();
        return CloseNow(CloseReason::kProtocolViolation);
      }
      // One write per receiver per read buffer (64 KiB of input), not per message.
      worker_.FlushDirty();
      if (core_.is_closing()) break;
      if (batch.stall_on) {
        stall_on_ = std::move(batch.stall_on);
        batch.stall_on.reset();
        break;
      }
      if (count < internal::IoWorker::kReadBufferBytes) break;
    }
    worker_.FlushDirty();
    if (core_.is_closing()) return BeginClose(core_.close_reason());
    // The peer closed its side: flush what it is owed first (nats-server
    // does for "Client Closed"); a real read error drops the output.
    if (error == boost::asio::error::eof) return BeginClose(CloseReason::kClientClosed);
    if (error) {
      // Transport layers report their own failures here (a TLS alert, a
      // WebSocket framing error; they already queued what the peer is owed).
      if (shared_.logger != nullptr && shared_.logger->IsEnabled(LogLevel::kDebug)) {
        shared_.logger->Log(LogLevel::kDebug, "client " + std::to_string(client_id_) +
                                                  " read failed: " + error.message());
      }
      return CloseNow(IsHandshakeDone() ? CloseReason::kClientClosed
                                        : CloseReason::kTlsHandshakeError);
    }
    if (stall_on_) return Stall(now);
    WaitReadable();
  }

  // Sends pending_ from another I/O thread when no write is in flight. The
  // mutex keeps the owner from writing or closing the socket meanwhile.
  // True when everything was sent (no owner wake-up needed).
  bool TrySendInline() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ || write_in_flight_ || write_offset_ < writing_.size() || pending_.empty()) {
      return false;
    }
    boost::system::error_code error;
    std::size_t sent = stream_.TrySendFromAnyThread(pending_.data(), pending_.size(), error);
    if (sent == pending_.size()) {
      pending_.clear();
      flush_scheduled_ = false;
      UpdateCongestionLocked(true);
      return true;
    }
    // Partial or failed: the owner writes the rest (and sees any error).
    // The rest is handed over as writing_ from offset `sent`, not moved to
    // the front of pending_: under a large backlog that copy was quadratic.
    if (sent > 0) {
      writing_.clear();
      writing_.swap(pending_);
      write_offset_ = sent;
    }
    return false;
  }

  // Pauses reading until the congested receiver drains below its threshold
  // or its stall window ends (fast-producer back-pressure, nats-wire.md §6.4).
  void Stall(SteadyTime now) {
    if (!stall_timer_) stall_timer_.emplace(stream_.get_executor());
    stall_started_ = now;
    ArmStallTimer();
  }

  void ArmStallTimer() {
    stall_timer_->expires_after(kStallPoll);
    stall_timer_->async_wait([self = this->shared_from_this()](boost::system::error_code) {
      self->OnStallTimer();
    });
  }

  void OnStallTimer() {
    if (state_ != State::kOpen) return;
    SteadyTime now = shared_.clock->Now();
    if (stall_on_ && now - stall_started_ < Router::kStallWindow &&
        stall_on_->ShouldStallPublishers(now, Router::kStallWindow)) {
      return ArmStallTimer();
    }
    stall_on_.reset();
    OnReadable({});
  }

  void StartWrite() {
    if (state_ == State::kClosed) return;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      flush_scheduled_ = false;
      if (slow_consumer_) {
        lock.unlock();
        return CloseNow(CloseReason::kSlowConsumerPendingBytes);
      }
      if (write_in_flight_) return;
      if (write_offset_ >= writing_.size()) {
        writing_.clear();
        write_offset_ = 0;
        if (pending_.empty()) {
          lock.unlock();
          if (state_ == State::kDraining) CloseNow(close_reason_);
          return;
        }
        // Double buffering: routing keeps appending to pending_ meanwhile.
        writing_.swap(pending_);
      }
      write_in_flight_ = true;
    }
    write_started_ = shared_.clock->Now();
    // Bounded chunks: progress is seen (and the write deadline measured) per
    // chunk, which tells a slow reader from a stopped one.
    std::size_t chunk = std::min(writing_.size() - write_offset_, kMaxWriteBytes);
    stream_.AsyncWrite(boost::asio::buffer(writing_.data() + write_offset_, chunk),
                       [self = this->shared_from_this()](boost::system::error_code error,
                                                         std::size_t written) {
                         self->OnWriteDone(error, written);
                       });
  }

  void OnWriteDone(boost::system::error_code error, std::size_t written) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      write_in_flight_ = false;
      write_offset_ += written;
      if (write_offset_ >= writing_.size()) {
        write_offset_ = 0;
        if (writing_.capacity() > kMaxRetainedBufferBytes) {
          std::string().swap(writing_);
        } else {
          writing_.clear();
        }
      }
      UpdateCongestionLocked(written > 0);
    }
    if (state_ == State::kClosed) return;
    if (error) return CloseNow(CloseReason::kWriteError);
    StartWrite();
  }

  // Stops reading and routing to this connection, flushes what is queued
  // (the -ERR), then closes.
  void BeginClose(CloseReason reason) {
    if (state_ != State::kOpen) return;
    state_ = State::kDraining;
    close_reason_ = reason;
    drain_deadline_ = shared_.clock->Now() + kDrainTimeout;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    core_.ReleaseSubscriptions();
    StartWrite();
  }

  void CloseNow(CloseReason reason) {
    if (state_ == State::kClosed) return;
    auto self = this->shared_from_this();  // Release() may drop the last owner
    state_ = State::kClosed;
    close_reason_ = reason;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      std::string().swap(pending_);
    }
    core_.ReleaseSubscriptions();
    // Counters first: a peer that sees the close may read stats() at once.
    if (reason == CloseReason::kSlowConsumerPendingBytes ||
        reason == CloseReason::kSlowConsumerWriteDeadline) {
      shared_.slow_consumers.fetch_add(1, std::memory_order_relaxed);
    }
    if (is_counted_) shared_.connections.fetch_sub(1, std::memory_order_relaxed);
    is_counted_ = false;
    if (stall_timer_) stall_timer_->cancel();
    stall_on_.reset();
    if (shared_.logger != nullptr && shared_.logger->IsEnabled(LogLevel::kDebug)) {
      shared_.logger->Log(LogLevel::kDebug, "client " + std::to_string(client_id_) +
                                                " closed: " + std::string(CloseReasonName(reason)));
    }
    if constexpr (requires { stream_.SetCloseStatus(1000, std::string()); }) {
      // WebSocket: the CLOSE frame says why (nats-wire.md §7.6).
      stream_.SetCloseStatus(WebSocketCloseCode(reason), std::string(CloseReasonName(reason)));
    }
    if constexpr (requires { stream_.CloseAtOnce(); }) {
      // Shutdown: this thread stops next and would not finish a close that
      // waits for the write in flight (TLS, WebSocket); the socket would leak.
      if (reason == CloseReason::kServerShutdown) {
        stream_.CloseAtOnce();
      } else {
        stream_.Close();
      }
    } else {
      stream_.Close();
    }
    worker_.Release(client_id_);
  }

  Stream stream_;
  internal::IoWorker& worker_;
  internal::BrokerShared& shared_;
  const std::uint64_t client_id_;
  SessionCore core_;
  State state_ = State::kOpen;
  CloseReason close_reason_ = CloseReason::kNone;
  bool is_counted_ = false;
  SteadyTime write_started_{};
  SteadyTime drain_deadline_{};
  // Created on first use: most connections never publish into congestion.
  std::shared_ptr<Outbox> stall_on_;
  SteadyTime stall_started_{};
  std::optional<SteadyTime> handshake_deadline_;
  std::optional<boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  boost::asio::wait_traits<std::chrono::steady_clock>,
                                                  typename Stream::executor_type>>
      stall_timer_;
};

}  // namespace embed::broker
