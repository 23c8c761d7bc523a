// A service process for the RPC tests that kill a server: connects to the
// URL in argv[1], serves svc.v1.Peer (Forever: a server stream that never
// ends; Echo: unary), prints "ready" and runs until killed.

#include <chrono>
#include <cstdio>
#include <thread>

#include "embed/client/connection.h"
#include "embed/rpc/service_host.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <url>\n", argv[0]);
    return 2;
  }
  embed::client::ConnectionOptions options;
  options.urls = {argv[1]};
  auto connection = embed::client::Connection::Connect(options);
  if (!connection.ok()) {
    std::fprintf(stderr, "connect: %s\n", connection.status().ToString().c_str());
    return 1;
  }
  embed::rpc::DynamicService service("svc.v1.Peer");
  service.AddServerStreaming(
      {"Forever", embed::rpc::MethodKind::kServerStreaming, "", ""},
      [](embed::rpc::ServerContext&, std::string_view, embed::rpc::ServerStream& stream) {
        while (stream.Write("tick").ok()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return embed::rpc::RpcStatus::Ok();
      });
  service.AddUnary({"Echo", embed::rpc::MethodKind::kUnary, "", ""},
                   [](embed::rpc::ServerContext&, std::string_view request, std::string* response) {
                     *response = std::string(request);
                     return embed::rpc::RpcStatus::Ok();
                   });
  embed::rpc::ServiceHost host(**connection);
  embed::Status added = host.AddService(service);
  if (!added.ok() || !(*connection)->Flush(std::chrono::seconds(5)).ok()) {
    std::fprintf(stderr, "serve: %s\n", added.ToString().c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  while (true) std::this_thread::sleep_for(std::chrono::seconds(1));
}
