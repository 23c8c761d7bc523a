// embed_rpc_bench: the echo service of the RPC benchmark over Embed RPC
// (generated from echo.proto by protoc-gen-embed), driven by bench/rpc_run.py.
// Roles (the servers print one JSON line when ready and serve until stdin
// closes):
//   --role hub-with-service   an embedded broker on an ephemeral TCP port, the
//                             service inside the same process on an in-process
//                             connection; prints {"url": "nats://..."}
//   --role hub                an embedded broker alone; prints {"url": ...}
//   --role service --url U    the service on a connection to U; {"ready": true}
//   --role client --url U [--smoke] [load flags of echo_bench.h]
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "bench/rpc/echo_bench.h"
#include "echo.embed.h"
#include "embed/broker/broker.h"
#include "embed/client/connection.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/service_host.h"

namespace {

using namespace std::chrono_literals;
using embed::bench::ClientConfig;
using embed::bench::Fail;
using embed::bench::Flags;
using embed::bench::v1::Chunk;
using embed::bench::v1::DownloadRequest;
using embed::bench::v1::EchoReply;
using embed::bench::v1::EchoRequest;
using embed::bench::v1::UploadSummary;
using embed::rpc::RpcStatus;
using embed::rpc::ServerContext;
using EchoClient = embed::bench::v1::Echo::Client;

class EchoService final : public embed::bench::v1::Echo::Service {
 public:
  RpcStatus Echo(ServerContext&, const EchoRequest& request, EchoReply* reply) override {
    reply->set_payload(request.payload());
    return RpcStatus::Ok();
  }

  RpcStatus Download(ServerContext&, const DownloadRequest& request,
                     embed::rpc::ServerWriter<Chunk>& writer) override {
    Chunk chunk;
    chunk.set_payload(std::string(request.chunk_bytes(), 'x'));
    for (std::uint32_t i = 0; i < request.chunks(); ++i) {
      RpcStatus written = writer.Write(chunk);
      if (!written.ok()) return written;
    }
    return RpcStatus::Ok();
  }

  RpcStatus Upload(ServerContext&, embed::rpc::ServerReader<Chunk>& reader,
                   UploadSummary* summary) override {
    Chunk chunk;
    std::uint64_t chunks = 0;
    std::uint64_t bytes = 0;
    while (reader.Read(&chunk)) {
      ++chunks;
      bytes += chunk.payload().size();
    }
    summary->set_chunks(chunks);
    summary->set_bytes(bytes);
    return RpcStatus::Ok();
  }
};

std::unique_ptr<embed::client::Connection> Connect(const std::string& url) {
  embed::client::ConnectionOptions options;
  options.urls = {url};
  options.allow_reconnect = false;
  auto connection = embed::client::Connection::Connect(options);
  if (!connection.ok()) Fail("connect " + url + ": " + connection.status().ToString());
  return std::move(connection).value();
}

std::unique_ptr<embed::broker::Broker> StartBroker() {
  embed::broker::BrokerOptions options;
  options.port = 0;
  auto broker = embed::broker::Broker::Start(options);
  if (!broker.ok()) Fail("broker: " + broker.status().ToString());
  return std::move(broker).value();
}

// Serves the echo service on `connection` until stdin closes, announcing
// `json` once the subscription has reached the broker.
void ServeEcho(embed::client::Connection& connection, const std::string& json) {
  EchoService service;
  embed::rpc::ServiceHost host(connection);
  embed::Status added = host.AddService(service);
  if (!added.ok()) Fail("AddService: " + added.ToString());
  if (!connection.Flush(5s).ok()) Fail("flush");
  embed::bench::AnnounceAndServe(json);
  host.Stop(0ms);
}

class EmbedTarget final : public embed::bench::EchoTarget {
 public:
  explicit EmbedTarget(const std::string& url)
      : connection_(Connect(url)), channel_(*connection_), client_(channel_) {}

  void Echo(const std::string& payload) override {
    EchoRequest request;
    request.set_payload(payload);
    EchoReply reply;
    RpcStatus status = client_.Echo(request, &reply);
    if (!status.ok()) Fail("Echo: " + status.ToString());
    if (reply.payload().size() != payload.size()) Fail("Echo: wrong reply");
  }

  // Each reply's callback (on the connection's dispatcher thread) sends the
  // next call.
  void EchoInFlight(const std::string& payload, int calls, int in_flight) override {
    EchoRequest request;
    request.set_payload(payload);
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    std::mutex mutex;
    std::condition_variable all_done;
    std::function<void()> start_next = [&] {
      if (started.fetch_add(1) >= calls) return;
      client_.EchoAsync(request, [&](RpcStatus status, EchoReply) {
        if (!status.ok()) Fail("EchoAsync: " + status.ToString());
        start_next();
        if (finished.fetch_add(1) + 1 == calls) {
          std::lock_guard<std::mutex> lock(mutex);
          all_done.notify_all();
        }
      });
    };
    for (int i = 0; i < in_flight; ++i) start_next();
    std::unique_lock<std::mutex> lock(mutex);
    if (!all_done.wait_for(lock, 300s, [&] { return finished.load() >= calls; })) {
      Fail("only " + std::to_string(finished.load()) + " of " + std::to_string(calls) +
           " calls completed");
    }
  }

  std::uint64_t Download(int chunks, int chunk_bytes) override {
    DownloadRequest request;
    request.set_chunks(static_cast<std::uint32_t>(chunks));
    request.set_chunk_bytes(static_cast<std::uint32_t>(chunk_bytes));
    auto reader = client_.Download(request);
    Chunk chunk;
    std::uint64_t bytes = 0;
    while (reader->Read(&chunk)) bytes += chunk.payload().size();
    RpcStatus status = reader->Finish();
    if (!status.ok()) Fail("Download: " + status.ToString());
    return bytes;
  }

  std::uint64_t Upload(int chunks, int chunk_bytes) override {
    auto writer = client_.Upload();
    Chunk chunk;
    chunk.set_payload(std::string(static_cast<std::size_t>(chunk_bytes), 'x'));
    for (int i = 0; i < chunks; ++i) {
      if (!writer->Write(chunk).ok()) break;  // Finish() says why
    }
    UploadSummary summary;
    RpcStatus status = writer->Finish(&summary);
    if (!status.ok()) Fail("Upload: " + status.ToString());
    return summary.bytes();
  }

 private:
  std::unique_ptr<embed::client::Connection> connection_;
  embed::rpc::Channel channel_;
  EchoClient client_;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags(argc, argv);
  const std::string role = flags.Require("role");
  if (role == "hub-with-service") {
    auto broker = StartBroker();
    {
      auto connection = Connect(broker->in_process_url());
      ServeEcho(*connection, "{\"url\": \"" + broker->url() + "\"}");
    }
    broker->Stop();
  } else if (role == "hub") {
    auto broker = StartBroker();
    embed::bench::AnnounceAndServe("{\"url\": \"" + broker->url() + "\"}");
    broker->Stop();
  } else if (role == "service") {
    auto connection = Connect(flags.Require("url"));
    ServeEcho(*connection, "{\"ready\": true}");
  } else if (role == "client") {
    EmbedTarget target(flags.Require("url"));
    embed::bench::RunClient(target, ClientConfig::FromFlags(flags));
  } else {
    Fail("unknown --role " + role + " (hub-with-service, hub, service, client)");
  }
  return 0;
}
