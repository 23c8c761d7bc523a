// `embed bench`: measures publish/subscribe throughput, or request/reply
// latency with --request, using Embed's client against any NATS server.
//
// Pub/sub: --sub connections subscribe; --pub connections (one thread each)
// share --msgs messages of --size bytes; every subscriber expects all of them.
// Request: --sub responders in one queue group echo the payload; --pub
// requesters (one thread each) share --msgs sequential requests.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "embed/client/connection.h"
#include "tools/embed/command.h"
#include "tools/embed/common_flags.h"
#include "tools/embed/flag_parsing.h"
#include "tools/embed/message_printer.h"

namespace embed::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  ConnectFlags connect;
  std::string subject;
  int publishers = 1;
  int subscribers = 1;
  std::uint64_t messages = 100'000;
  std::uint64_t size_bytes = 128;
  bool is_request = false;
  std::chrono::milliseconds timeout{60'000};
};

// Messages (or requests) publisher `index` of `publishers` sends.
std::uint64_t ShareOf(std::uint64_t messages, int publishers, int index) {
  const auto count = static_cast<std::uint64_t>(publishers);
  const auto position = static_cast<std::uint64_t>(index);
  return messages / count + (position < messages % count ? 1 : 0);
}

std::string FormatRate(std::uint64_t count, std::uint64_t bytes, Clock::duration elapsed) {
  const double seconds = std::max(std::chrono::duration<double>(elapsed).count(), 1e-9);
  char text[128];
  std::snprintf(text, sizeof text, "%.0f msgs/s ~ %.2f MB/s (%llu msgs in %.3fs)",
                static_cast<double>(count) / seconds, static_cast<double>(bytes) / seconds / 1e6,
                static_cast<unsigned long long>(count), seconds);
  return text;
}

std::string FormatLatency(Clock::duration latency) {
  const double micros = std::chrono::duration<double, std::micro>(latency).count();
  char text[64];
  if (micros < 1000) {
    std::snprintf(text, sizeof text, "%.1fus", micros);
  } else {
    std::snprintf(text, sizeof text, "%.2fms", micros / 1000);
  }
  return text;
}

// Counts what one subscriber received and wakes the waiter when it has all.
struct SubscriberTally {
  std::atomic<std::uint64_t> received{0};
  Clock::time_point first_at{};
  Clock::time_point last_at{};
};

class Completion {
 public:
  void Done() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    changed_.notify_all();
  }
  bool WaitFor(int expected, Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return done_ >= expected; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int done_ = 0;
};

// Publishes, backing off with a Flush when the client's buffer is full.
Status PublishWithBackoff(client::Connection& connection, const std::string& subject,
                          const std::string& payload, std::chrono::milliseconds timeout) {
  Status status = connection.Publish(subject, payload);
  if (status.code() == StatusCode::kResourceExhausted) {
    EMBED_RETURN_IF_ERROR(connection.Flush(timeout));
    status = connection.Publish(subject, payload);
  }
  return status;
}

Status RunPubSubBench(const BenchFlags& flags, MessagePrinter& printer) {
  const std::string payload(flags.size_bytes, 'x');
  const Clock::time_point deadline = Clock::now() + flags.timeout;

  Completion subscribers_done;
  std::vector<std::unique_ptr<SubscriberTally>> tallies;
  std::vector<std::unique_ptr<client::Connection>> subscriber_connections;
  std::vector<std::unique_ptr<client::Subscription>> subscriptions;
  for (int i = 0; i < flags.subscribers; ++i) {
    EMBED_ASSIGN_OR_RETURN(auto connection,
                           Connect(flags.connect, "embed bench sub", Reconnect::kNever));
    auto tally = std::make_unique<SubscriberTally>();
    SubscriberTally* counts = tally.get();
    client::SubscribeOptions options;
    // Room for the whole run, so the bench measures throughput, not drops.
    options.pending_messages_limit = static_cast<std::size_t>(flags.messages) + 1;
    options.pending_bytes_limit =
        static_cast<std::size_t>(flags.messages * (flags.size_bytes + 64) + (1 << 20));
    const std::uint64_t expected = flags.messages;
    EMBED_ASSIGN_OR_RETURN(auto subscription,
                           connection->Subscribe(
                               flags.subject,
                               [counts, expected, &subscribers_done](const client::Message&) {
                                 const Clock::time_point now = Clock::now();
                                 const std::uint64_t number = ++counts->received;
                                 if (number == 1) counts->first_at = now;
                                 if (number == expected) {
                                   counts->last_at = now;
                                   subscribers_done.Done();
                                 }
                               },
                               options));
    EMBED_RETURN_IF_ERROR(connection->Flush(flags.timeout));
    tallies.push_back(std::move(tally));
    subscriptions.push_back(std::move(subscription));
    subscriber_connections.push_back(std::move(connection));
  }

  std::vector<std::unique_ptr<client::Connection>> publisher_connections;
  for (int i = 0; i < flags.publishers; ++i) {
    EMBED_ASSIGN_OR_RETURN(auto connection,
                           Connect(flags.connect, "embed bench pub", Reconnect::kNever));
    publisher_connections.push_back(std::move(connection));
  }

  std::vector<Status> publisher_status(publisher_connections.size());
  std::vector<Clock::time_point> publisher_end(publisher_connections.size());
  const Clock::time_point start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < publisher_connections.size(); ++i) {
      threads.emplace_back([&, i] {
        client::Connection& connection = *publisher_connections[i];
        const std::uint64_t share = ShareOf(flags.messages, flags.publishers, static_cast<int>(i));
        for (std::uint64_t n = 0; n < share; ++n) {
          Status status = PublishWithBackoff(connection, flags.subject, payload, flags.timeout);
          if (!status.ok()) {
            publisher_status[i] = status;
            return;
          }
        }
        publisher_status[i] = connection.Flush(flags.timeout);
        publisher_end[i] = Clock::now();
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  for (const Status& status : publisher_status) {
    if (!status.ok()) {
      return Status(status.code(), "publishing failed: " + std::string(status.message()));
    }
  }
  const Clock::time_point publish_end =
      *std::max_element(publisher_end.begin(), publisher_end.end());
  const std::uint64_t total_bytes = flags.messages * flags.size_bytes;
  printer.PrintLine("Pub stats: " + FormatRate(flags.messages, total_bytes, publish_end - start));

  if (flags.subscribers == 0) return Status::Ok();
  const bool is_complete = subscribers_done.WaitFor(flags.subscribers, deadline);
  if (!is_complete) {
    std::uint64_t received = 0;
    std::uint64_t dropped = 0;
    for (std::size_t i = 0; i < tallies.size(); ++i) {
      received += tallies[i]->received.load();
      dropped += subscriptions[i]->dropped();
    }
    return TimeoutError("subscribers received " + std::to_string(received) + " of " +
                        std::to_string(flags.messages * tallies.size()) + " messages within " +
                        FormatDuration(flags.timeout) + " (" + std::to_string(dropped) +
                        " dropped)");
  }
  Clock::time_point last = start;
  for (const auto& tally : tallies) last = std::max(last, tally->last_at);
  const std::uint64_t received = flags.messages * tallies.size();
  printer.PrintLine(
      "Sub stats: " + FormatRate(received, received * flags.size_bytes, last - start) + " over " +
      std::to_string(tallies.size()) + " subscriber(s)");
  for (auto& connection : subscriber_connections) connection->Close();
  for (auto& connection : publisher_connections) connection->Close();
  return Status::Ok();
}

Status RunRequestBench(const BenchFlags& flags, MessagePrinter& printer) {
  const std::string payload(flags.size_bytes, 'x');
  std::vector<std::unique_ptr<client::Connection>> responder_connections;
  std::vector<std::unique_ptr<client::Subscription>> responders;
  for (int i = 0; i < flags.subscribers; ++i) {
    EMBED_ASSIGN_OR_RETURN(auto connection,
                           Connect(flags.connect, "embed bench responder", Reconnect::kNever));
    client::Connection* responder = connection.get();
    client::SubscribeOptions options;
    options.queue_group = "embed-bench";
    EMBED_ASSIGN_OR_RETURN(
        auto subscription,
        connection->Subscribe(
            flags.subject,
            [responder](const client::Message& request) {
              if (request.reply_to.empty()) return;
              responder->Publish(request.reply_to, request.payload).IgnoreError();
            },
            options));
    EMBED_RETURN_IF_ERROR(connection->Flush(flags.timeout));
    responders.push_back(std::move(subscription));
    responder_connections.push_back(std::move(connection));
  }

  std::vector<std::unique_ptr<client::Connection>> requester_connections;
  for (int i = 0; i < flags.publishers; ++i) {
    EMBED_ASSIGN_OR_RETURN(auto connection,
                           Connect(flags.connect, "embed bench requester", Reconnect::kNever));
    requester_connections.push_back(std::move(connection));
  }

  std::vector<std::vector<Clock::duration>> latencies(requester_connections.size());
  std::vector<Status> requester_status(requester_connections.size());
  const Clock::time_point start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < requester_connections.size(); ++i) {
      threads.emplace_back([&, i] {
        client::Connection& connection = *requester_connections[i];
        const std::uint64_t share = ShareOf(flags.messages, flags.publishers, static_cast<int>(i));
        latencies[i].reserve(static_cast<std::size_t>(share));
        for (std::uint64_t n = 0; n < share; ++n) {
          const Clock::time_point sent = Clock::now();
          Result<client::Message> reply = connection.Request(flags.subject, payload, flags.timeout);
          if (!reply.ok()) {
            requester_status[i] = reply.status();
            return;
          }
          latencies[i].push_back(Clock::now() - sent);
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  const Clock::duration elapsed = Clock::now() - start;
  for (const Status& status : requester_status) {
    if (status.code() == StatusCode::kUnavailable) {
      return UnavailableError("no responders on \"" + flags.subject + "\" (use --sub N >= 1)");
    }
    if (!status.ok()) {
      return Status(status.code(), "request failed: " + std::string(status.message()));
    }
  }
  std::vector<Clock::duration> all;
  for (const auto& samples : latencies) all.insert(all.end(), samples.begin(), samples.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) return InvalidArgumentError("--msgs must be at least 1");
  const auto percentile = [&](double fraction) {
    const auto index = static_cast<std::size_t>(fraction * static_cast<double>(all.size() - 1));
    return all[index];
  };
  printer.PrintLine(
      "Req stats: " + FormatRate(all.size(), all.size() * flags.size_bytes * 2, elapsed) +
      " with " + std::to_string(requester_connections.size()) + " requester(s)");
  printer.PrintLine("Latency: p50 " + FormatLatency(percentile(0.50)) + ", p99 " +
                    FormatLatency(percentile(0.99)) + ", max " + FormatLatency(all.back()));
  for (auto& connection : requester_connections) connection->Close();
  for (auto& connection : responder_connections) connection->Close();
  return Status::Ok();
}

Status RunBench(const BenchFlags& flags) {
  if (flags.publishers == 0) return InvalidArgumentError("--pub must be at least 1");
  MessagePrinter printer;
  printer.PrintLine(
      std::string(flags.is_request ? "Request/reply" : "Pub/sub") + " bench on \"" + flags.subject +
      "\": " + std::to_string(flags.messages) + " msgs of " + std::to_string(flags.size_bytes) +
      " bytes, " + std::to_string(flags.publishers) +
      (flags.is_request ? " requester(s), " : " publisher(s), ") +
      std::to_string(flags.subscribers) + (flags.is_request ? " responder(s)" : " subscriber(s)"));
  return flags.is_request ? RunRequestBench(flags, printer) : RunPubSubBench(flags, printer);
}

}  // namespace

void AddBenchCommand(CLI::App& app, CommandAction& action) {
  CLI::App* command = app.add_subcommand(
      "bench", "Measure pub/sub throughput, or request/reply latency with --request");
  // Shared because the flags must outlive this function until the action runs.
  auto flags = std::make_shared<BenchFlags>();
  command->add_option("subject", flags->subject, "Subject to use")->required();
  AddConnectFlags(*command, flags->connect);
  command->add_option("--pub", flags->publishers, "Publishers (requesters), one thread each")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command->add_option("--sub", flags->subscribers, "Subscribers (responders with --request)")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  command->add_option("--msgs,-n", flags->messages, "Messages (requests) in total")
      ->capture_default_str()
      ->check(AtLeastOne());
  AddSizeOption(*command, "--size", flags->size_bytes, "Payload size (e.g. 128, 1KB)");
  command->add_flag("--request", flags->is_request, "Measure request/reply latency");
  AddDurationOption(*command, "--timeout", flags->timeout,
                    "Give up when the run (or one request) takes longer");
  command->callback([flags, &action] { action = [flags] { return RunBench(*flags); }; });
}

}  // namespace embed::tools
