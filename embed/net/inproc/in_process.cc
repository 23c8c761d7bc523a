#include "embed/net/inproc/in_process.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace embed::net {
namespace {

struct Entry {
  std::uint64_t id = 0;
  ContextPicker pick;
  PipeAcceptor on_accept;
  int active_dials = 0;  // guarded by Registry::mutex
};

struct Registry {
  std::mutex mutex;
  std::condition_variable dial_finished;
  std::uint64_t next_id = 1;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> entries;
};

Registry& GetRegistry() {
  // Never destroyed: registrations and dials may run during static destruction.
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace

Result<std::unique_ptr<InProcessRegistration>> RegisterInProcess(std::string name,
                                                                 ContextPicker pick,
                                                                 PipeAcceptor on_accept) {
  if (name.empty()) return InvalidArgumentError("in-process name must not be empty");
  if (!pick || !on_accept) return InvalidArgumentError("in-process registration needs callbacks");
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  if (registry.entries.count(name) > 0) {
    return AlreadyExistsError("in-process name '" + name + "' is already registered");
  }
  auto entry = std::make_shared<Entry>();
  entry->id = registry.next_id++;
  entry->pick = std::move(pick);
  entry->on_accept = std::move(on_accept);
  registry.entries.emplace(name, entry);
  return std::unique_ptr<InProcessRegistration>(
      new InProcessRegistration(std::move(name), entry->id));
}

InProcessRegistration::~InProcessRegistration() {
  Registry& registry = GetRegistry();
  std::unique_lock<std::mutex> lock(registry.mutex);
  auto it = registry.entries.find(name_);
  if (it == registry.entries.end() || it->second->id != id_) return;
  std::shared_ptr<Entry> entry = std::move(it->second);
  registry.entries.erase(it);
  registry.dial_finished.wait(lock, [&] { return entry->active_dials == 0; });
}

Result<PipeStream> DialInProcess(std::string_view name, boost::asio::io_context& client_context) {
  Registry& registry = GetRegistry();
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    auto it = registry.entries.find(name);
    if (it == registry.entries.end()) {
      return UnavailableError("no in-process server named '" + std::string(name) + "'");
    }
    entry = it->second;
    ++entry->active_dials;
  }
  Status status;
  std::optional<PipeStream> client_end;
  try {
    boost::asio::io_context& server_context = entry->pick();
    auto [client, server] = MakePipe(client_context, server_context);
    client_end.emplace(std::move(client));
    entry->on_accept(std::move(server));
  } catch (const std::exception& exception) {
    status = InternalError(std::string("in-process accept failed: ") + exception.what());
  }
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    --entry->active_dials;
  }
  registry.dial_finished.notify_all();
  if (!status.ok()) return status;
  return std::move(*client_end);
}

}  // namespace embed::net
