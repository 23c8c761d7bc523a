// greeter_server: serves greeter.v1.Greeter on a NATS-protocol hub (`embed
// serve`, nats-server) until Ctrl-C or SIGTERM. Run several: calls are shared
// among them.
//
//   greeter_server [nats://127.0.0.1:4222]

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <string>

#include "embed/client/connection.h"
#include "embed/rpc/service_host.h"
#include "greeter.embed.h"

namespace rpc = embed::rpc;
using greeter::v1::HelloReply;
using greeter::v1::HelloRequest;

// Overrides the methods of the generated base class; each call runs on one
// of the host's handler threads.
class GreeterImpl : public greeter::v1::Greeter::Service {
 public:
  rpc::RpcStatus SayHello(rpc::ServerContext&, const HelloRequest& request,
                          HelloReply* reply) override {
    if (request.name().empty()) {
      return rpc::RpcStatus(rpc::RpcCode::kInvalidArgument, "name is empty");
    }
    reply->set_message("Hello, " + request.name() + "!");
    return rpc::RpcStatus::Ok();
  }

  rpc::RpcStatus SayHelloStream(rpc::ServerContext&, const HelloRequest& request,
                                rpc::ServerWriter<HelloReply>& writer) override {
    int count = request.count() == 0 ? 3 : request.count();
    if (count < 1 || count > 100) {
      return rpc::RpcStatus(rpc::RpcCode::kOutOfRange, "count must be 1..100");
    }
    for (int i = 1; i <= count; ++i) {
      HelloReply reply;
      reply.set_message("Hello #" + std::to_string(i) + ", " + request.name() + "!");
      rpc::RpcStatus written = writer.Write(reply);
      if (!written.ok()) return written;  // the caller is gone
    }
    return rpc::RpcStatus::Ok();
  }
};

int main(int argc, char* argv[]) {
  std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";

  // SIGINT/SIGTERM are taken by sigwait() below: block them before any thread
  // starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  embed::client::ConnectionOptions options;
  options.urls = {url};
  auto connection = embed::client::Connection::Connect(options);
  if (!connection.ok()) {
    std::cerr << "greeter_server: " << connection.status().ToString() << "\n";
    return 1;
  }

  GreeterImpl greeter;
  rpc::ServiceHost host(**connection);  // declared after `greeter`: stops first
  embed::Status added = host.AddService(greeter);
  // Once flushed, the hub has the service's subscriptions: calls reach it.
  if (added.ok()) added = (*connection)->Flush(std::chrono::seconds(5));
  if (!added.ok()) {
    std::cerr << "greeter_server: " << added.ToString() << "\n";
    return 1;
  }
  std::cout << "greeter_server: serving greeter.v1.Greeter on " << url << std::endl;

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  host.Stop();  // lets calls in progress finish
  std::cout << "greeter_server: stopped" << std::endl;
  return 0;
}
