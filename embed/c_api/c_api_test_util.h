#pragma once
// What the C ABI's C++ tests share: a handle with sync-call and polling
// helpers, and the envelopes they build most.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "embed/c_api/embed.h"
#include "embed/v1/bridge.pb.h"

namespace embed::c_api_test {

using namespace std::chrono_literals;
using embed::v1::Event;
using embed::v1::Request;
using embed::v1::Response;

// Owns one handle; helpers for the sync call and event polling.
class Handle {
 public:
  explicit Handle(const embed::v1::Config& config = {}) {
    std::string bytes = config.SerializeAsString();
    embed_error_t* error = nullptr;
    EXPECT_EQ(
        embed_open(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &handle_, &error),
        EMBED_OK);
    EXPECT_EQ(error, nullptr);
  }
  ~Handle() { embed_free(handle_); }
  embed_t* get() const { return handle_; }

  // embed_call_sync; a refused call is a test failure and gives a Response
  // with the refusal's code.
  Response Call(const Request& request) {
    ++calls_;
    std::string bytes = request.SerializeAsString();
    uint8_t* out = nullptr;
    size_t out_len = 0;
    embed_error_t* error = nullptr;
    embed_status status = embed_call_sync(handle_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                          bytes.size(), &out, &out_len, &error);
    Response response;
    if (status != EMBED_OK) {
      ADD_FAILURE() << "embed_call_sync: " << embed_error_message(error);
      embed_error_free(error);
      response.mutable_status()->set_code(static_cast<embed::v1::StatusCode>(status));
      return response;
    }
    EXPECT_TRUE(response.ParseFromArray(out, static_cast<int>(out_len)));
    embed_bytes_free(out);
    return response;
  }

  // embed_call with raw bytes; returns its status, checking that the error
  // object says the same (it is freed).
  embed_status CallRaw(const std::string& bytes) {
    ++calls_;
    embed_error_t* error = nullptr;
    embed_status status =
        embed_call(handle_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &error);
    if (status != EMBED_OK) {
      EXPECT_NE(error, nullptr);
      EXPECT_EQ(embed_error_code(error), status);
    } else {
      EXPECT_EQ(error, nullptr);
    }
    embed_error_free(error);
    return status;
  }

  void CallAsync(const Request& request) {
    ++calls_;
    std::string bytes = request.SerializeAsString();
    embed_error_t* error = nullptr;
    ASSERT_EQ(
        embed_call(handle_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &error),
        EMBED_OK)
        << embed_error_message(error);
  }

  std::optional<Event> Poll(std::chrono::milliseconds timeout = 5s) {
    ++calls_;
    uint8_t* out = nullptr;
    size_t out_len = 0;
    embed_status status =
        embed_poll(handle_, static_cast<int32_t>(timeout.count()), &out, &out_len, nullptr);
    if (status != EMBED_OK) return std::nullopt;
    Event event;
    EXPECT_TRUE(event.ParseFromArray(out, static_cast<int>(out_len)));
    embed_bytes_free(out);
    return event;
  }

  // Polls until `wanted` accepts an event (others are skipped).
  std::optional<Event> PollUntil(const std::function<bool(const Event&)>& wanted,
                                 std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto event = Poll(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!event.has_value()) return std::nullopt;
      if (wanted(*event)) return event;
    }
    return std::nullopt;
  }

  // Starts a hub in this handle and connects to it; returns its TCP URL.
  std::string StartHubAndConnect() {
    Request start;
    start.set_id(1001);
    start.mutable_hub_start();
    Response started = Call(start);
    EXPECT_EQ(started.status().code(), embed::v1::OK) << started.status().message();
    in_process_url_ = started.hub_start().in_process_url();
    Request connect;
    connect.set_id(1002);
    connect.mutable_connect()->set_use_hub(true);
    Response connected = Call(connect);
    EXPECT_EQ(connected.status().code(), embed::v1::OK) << connected.status().message();
    return started.hub_start().url();
  }
  const std::string& in_process_url() const { return in_process_url_; }
  // The embed_* calls made through this object.
  std::int64_t calls() const { return calls_; }

 private:
  std::int64_t calls_ = 0;
  embed_t* handle_ = nullptr;
  std::string in_process_url_;
};

inline Request Publish(std::string subject, std::string payload) {
  Request request;
  request.mutable_publish()->set_subject(std::move(subject));
  request.mutable_publish()->set_payload(std::move(payload));
  return request;
}

inline Request Subscribe(std::uint64_t id, std::string subject) {
  Request request;
  request.set_id(id);
  request.mutable_subscribe()->set_subject(std::move(subject));
  return request;
}

inline bool IsMessage(const Event& event) { return event.has_message(); }

}  // namespace embed::c_api_test
