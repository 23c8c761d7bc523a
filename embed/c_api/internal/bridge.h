#pragma once
// Bridge: carries out the operations of embed.v1.Request for one C ABI
// handle, over a client::Connection, an rpc::Channel, store::Databases and
// an in-process broker::Broker, and turns what they deliver (messages,
// streamed RPC messages, changes, connection states) into Events on the
// handle's EventQueue. Thread-safe: Execute may run on any threads at once.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "embed/c_api/internal/event_queue.h"
#include "embed/v1/bridge.pb.h"

namespace embed::broker {
class Broker;
}
namespace embed::client {
class Subscription;
}
namespace embed::rpc {
class ClientStream;
}
namespace embed::store {
class Database;
}

namespace embed::c_api::internal {

using ResponseCallback = std::function<void(v1::Response response)>;

// A Response with `code` and `message` for the request with `id`.
v1::Response ErrorResponse(std::uint64_t id, v1::StatusCode code, std::string message);

class Bridge {
 public:
  Bridge(const v1::Config& config, EventQueue& events);
  // Close()s. `events` must outlive the Bridge.
  ~Bridge();
  Bridge(const Bridge&) = delete;
  Bridge& operator=(const Bridge&) = delete;

  // Runs `request` on this thread; `done` receives its Response exactly once,
  // here or later on another thread (requests that wait on the network).
  void Execute(const v1::Request& request, ResponseCallback done);

  // Queues `request` for the bridge's call thread, which starts requests
  // one at a time in order; its Response becomes an Event. False
  // (RESOURCE_EXHAUSTED) when too many requests wait.
  bool Submit(v1::Request request);

  // Ends everything: queued requests get CANCELLED, streams and
  // subscriptions end, the connection, the databases and the hub close.
  // Idempotent. Later Execute()s answer FAILED_PRECONDITION.
  void Close();

  struct Connected;  // the connection and its channel
  struct StoreEntry;

 private:
  void RunCallThread();
  void PushEvent(const v1::Event& event, EventClass event_class);

  // One function per operation; each answers through `done`.
  void Connect(std::uint64_t id, const v1::ConnectRequest& op, ResponseCallback& done);
  void Disconnect(std::uint64_t id, const v1::DisconnectRequest& op, ResponseCallback& done);
  void Publish(std::uint64_t id, const v1::PublishRequest& op, ResponseCallback& done);
  void Subscribe(std::uint64_t id, const v1::SubscribeRequest& op, ResponseCallback& done);
  void Unsubscribe(std::uint64_t id, const v1::UnsubscribeRequest& op, ResponseCallback& done);
  void NatsRequest(std::uint64_t id, const v1::RequestRequest& op, ResponseCallback& done);
  void Rpc(std::uint64_t id, const v1::RpcRequest& op, ResponseCallback& done);
  void Cancel(std::uint64_t id, const v1::CancelRequest& op, ResponseCallback& done);
  void Flush(std::uint64_t id, const v1::FlushRequest& op, ResponseCallback& done);
  void HubStart(std::uint64_t id, const v1::HubStartRequest& op, ResponseCallback& done);
  void HubStop(std::uint64_t id, ResponseCallback& done);
  // The store operations (store_ops.cc).
  void StoreOp(const v1::Request& request, ResponseCallback& done);
  void StoreOpen(std::uint64_t id, const v1::StoreOpenRequest& op, ResponseCallback& done);
  void StoreClose(std::uint64_t id, std::uint64_t store, ResponseCallback& done);
  void StoreWatch(std::uint64_t id, const v1::StoreWatchRequest& op, ResponseCallback& done);
  void StoreUnwatch(std::uint64_t id, std::uint64_t watch_id, ResponseCallback& done);

  // The connection, or null (and `done` answered) when there is none.
  std::shared_ptr<Connected> RequireConnection(std::uint64_t id, ResponseCallback& done);
  std::shared_ptr<StoreEntry> RequireStore(std::uint64_t id, std::uint64_t store,
                                           ResponseCallback& done);
  // Reserves `id` for a subscription, stream, store or watch; false (and
  // `done` answered ALREADY_EXISTS) when it names one already.
  bool ReserveId(std::uint64_t id, ResponseCallback& done);
  void ReleaseId(std::uint64_t id);
  // Ends all streams and subscriptions of `connected` and closes it.
  // Drains first when drain_timeout is set.
  void TearDown(std::shared_ptr<Connected> connected,
                std::optional<std::chrono::milliseconds> drain_timeout);
  // Closes the connection, the databases and the hub (Close()).
  void ReleaseEverything();
  void CloseStores();

  const v1::Config config_;
  EventQueue& events_;

  std::mutex mutex_;
  bool closed_ = false;
  int active_calls_ = 0;  // Execute()s in progress
  std::condition_variable idle_;
  bool connecting_ = false;
  std::shared_ptr<Connected> connected_;
  std::unordered_map<std::uint64_t, std::unique_ptr<client::Subscription>> subscriptions_;
  std::unordered_map<std::uint64_t, std::shared_ptr<rpc::ClientStream>> streams_;
  std::unordered_map<std::uint64_t, std::shared_ptr<StoreEntry>> stores_;
  // watch id -> (store id, the store's WatchId)
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> watches_;
  std::unordered_set<std::uint64_t> ids_in_use_;
  std::unique_ptr<broker::Broker> hub_;

  // The call thread's queue (Submit).
  std::condition_variable calls_changed_;
  std::deque<v1::Request> calls_;
  std::thread call_thread_;
  std::thread::id call_thread_id_;  // under mutex_ (join() clears call_thread_'s)
};

}  // namespace embed::c_api::internal
