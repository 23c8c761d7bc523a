// greeter_client: calls greeter.v1.Greeter's SayHello, then SayHelloStream,
// and prints the replies.
//
//   greeter_client [nats://127.0.0.1:4222] [name]

#include <chrono>
#include <iostream>
#include <string>

#include "embed/client/connection.h"
#include "embed/rpc/channel.h"
#include "greeter.embed.h"

namespace rpc = embed::rpc;
using greeter::v1::HelloReply;
using greeter::v1::HelloRequest;

int main(int argc, char* argv[]) {
  std::string url = argc > 1 ? argv[1] : "nats://127.0.0.1:4222";
  std::string name = argc > 2 ? argv[2] : "world";

  embed::client::ConnectionOptions options;
  options.urls = {url};
  auto connection = embed::client::Connection::Connect(options);
  if (!connection.ok()) {
    std::cerr << "greeter_client: " << connection.status().ToString() << "\n";
    return 1;
  }
  rpc::Channel channel(**connection);
  greeter::v1::Greeter::Client greeter(channel);

  HelloRequest request;
  request.set_name(name);

  // Unary: one request, one reply (UNAVAILABLE when no greeter_server runs).
  HelloReply reply;
  rpc::CallOptions call;
  call.timeout = std::chrono::seconds(5);
  rpc::RpcStatus status = greeter.SayHello(request, &reply, call);
  if (!status.ok()) {
    std::cerr << "greeter_client: SayHello: " << status.ToString() << "\n";
    return 1;
  }
  std::cout << "SayHello: " << reply.message() << "\n";

  // Server streaming: one request, replies until the server ends the stream.
  request.set_count(3);
  auto stream = greeter.SayHelloStream(request, call);
  while (stream->Read(&reply)) {
    std::cout << "SayHelloStream: " << reply.message() << "\n";
  }
  status = stream->Finish();
  if (!status.ok()) {
    std::cerr << "greeter_client: SayHelloStream: " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
