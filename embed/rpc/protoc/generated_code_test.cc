// The code protoc-gen-embed generates for testdata/*.proto, run against the
// rpc runtime and a broker: every kind of call through the generated Client
// and Service, the defaults, the method table, and the edge cases' names.

#include <chrono>
#include <cstddef>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "edge_cases.embed.h"
#include "embed/client/connection.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/service_host.h"
#include "embed/testing/broker_fixture.h"
#include "greeter.embed.h"
#include "no_package.embed.h"

namespace embed::rpc::protoc {
namespace {

using greeter::v1::Greeter;
using greeter::v1::HelloReply;
using greeter::v1::HelloRequest;

HelloRequest Hello(const std::string& name) {
  HelloRequest request;
  request.set_name(name);
  return request;
}

class GreeterImpl : public Greeter::Service {
 public:
  RpcStatus SayHello(ServerContext&, const HelloRequest& request, HelloReply* reply) override {
    reply->set_message("Hello, " + request.name());
    return RpcStatus::Ok();
  }
  RpcStatus SayHelloStream(ServerContext&, const HelloRequest& request,
                           ServerWriter<HelloReply>& writer) override {
    for (int i = 1; i <= 3; ++i) {
      HelloReply reply;
      reply.set_message(request.name() + " " + std::to_string(i));
      RpcStatus written = writer.Write(reply);
      if (!written.ok()) return written;
    }
    return RpcStatus::Ok();
  }
  RpcStatus Collect(ServerContext&, ServerReader<HelloRequest>& reader,
                    HelloReply* reply) override {
    HelloRequest request;
    while (reader.Read(&request)) reply->mutable_message()->append(request.name());
    return RpcStatus::Ok();
  }
  RpcStatus Chat(ServerContext&, ServerReaderWriter<HelloReply, HelloRequest>& stream) override {
    HelloRequest request;
    while (stream.Read(&request)) {
      HelloReply reply;
      reply.set_message("echo " + request.name());
      RpcStatus written = stream.Write(reply);
      if (!written.ok()) return written;
    }
    return RpcStatus::Ok();
  }
};

// Overrides nothing: every method answers UNIMPLEMENTED.
class EmptyGreeter : public Greeter::Service {};

class EdgeImpl : public embed::testdata::edge::Edge::Service {
 public:
  RpcStatus Echo(ServerContext&, const embed::testdata::edge::Echo& request,
                 embed::testdata::edge::Echo* response) override {
    response->set_text(request.text());
    return RpcStatus::Ok();
  }
  RpcStatus Forward(ServerContext&, const ::testdata::shared::Envelope& request,
                    google::protobuf::Empty*) override {
    forwarded_headers = request.headers_size();
    return RpcStatus::Ok();
  }
  RpcStatus Expand(ServerContext&, const embed::testdata::edge::Outer_Inner& request,
                   ServerWriter<embed::testdata::edge::Outer>& writer) override {
    embed::testdata::edge::Outer outer;
    *outer.mutable_inner() = request;
    return writer.Write(outer);
  }
  int forwarded_headers = -1;
};

class PingerImpl : public ::Pinger::Service {
 public:
  RpcStatus Ping(ServerContext&, const ::PingRequest& request, ::PingReply* reply) override {
    reply->set_sequence(request.sequence() + 1);
    return RpcStatus::Ok();
  }
};

class GeneratedCode : public embed::testing::BrokerFixture {
 protected:
  void SetUp() override { StartBroker(); }
  void TearDown() override {
    hosts_.clear();
    services_.clear();
    channel_.reset();
    connections_.clear();
    BrokerFixture::TearDown();
  }

  client::Connection& Connect() {
    client::ConnectionOptions options;
    options.urls = {"nats://127.0.0.1:" + std::to_string(port())};
    auto connection = client::Connection::Connect(options);
    EXPECT_TRUE(connection.ok()) << connection.status().ToString();
    connections_.push_back(std::move(*connection));
    return *connections_.back();
  }
  void Serve(Service& service) {
    client::Connection& connection = Connect();
    hosts_.push_back(std::make_unique<ServiceHost>(connection));
    Status added = hosts_.back()->AddService(service);
    ASSERT_TRUE(added.ok()) << added.ToString();
    ASSERT_TRUE(connection.Flush(std::chrono::seconds(2)).ok());
  }
  // A service owned by the fixture: it must outlive the host serving it,
  // whose handler threads may still be finishing after the test body.
  template <class ServiceType>
  ServiceType& Make() {
    services_.push_back(std::make_unique<ServiceType>());
    return static_cast<ServiceType&>(*services_.back());
  }
  Channel& channel() {
    if (channel_ == nullptr) channel_ = std::make_unique<Channel>(Connect());
    return *channel_;
  }

 private:
  std::vector<std::unique_ptr<client::Connection>> connections_;
  std::unique_ptr<Channel> channel_;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::unique_ptr<ServiceHost>> hosts_;
};

TEST(GeneratedService, RegistersEveryMethodWithItsKindAndTypes) {
  EmptyGreeter service;
  EXPECT_EQ(service.full_name(), "greeter.v1.Greeter");
  EXPECT_EQ(Greeter::kSayHelloStreamMethod, "greeter.v1.Greeter.SayHelloStream");
  ASSERT_EQ(service.methods().size(), 4u);
  const MethodKind kinds[] = {MethodKind::kUnary, MethodKind::kServerStreaming,
                              MethodKind::kClientStreaming, MethodKind::kBidiStreaming};
  const char* names[] = {"SayHello", "SayHelloStream", "Collect", "Chat"};
  for (std::size_t i = 0; i < 4; ++i) {
    const Service::Method* method = service.FindMethod(names[i]);
    ASSERT_NE(method, nullptr) << names[i];
    EXPECT_EQ(method->info.kind, kinds[i]) << names[i];
    EXPECT_EQ(method->info.request_type, "greeter.v1.HelloRequest");
    EXPECT_EQ(method->info.response_type, "greeter.v1.HelloReply");
  }
  embed::testdata::edge::Edge::Service edge;
  ASSERT_NE(edge.FindMethod("Headers"), nullptr);
  EXPECT_EQ(edge.FindMethod("Headers")->info.request_type, "testdata.shared.Envelope.Header");
  EXPECT_EQ(edge.FindMethod("Forward")->info.response_type, "google.protobuf.Empty");
}

TEST_F(GeneratedCode, CallsEveryKindOfMethod) {
  GreeterImpl& service = Make<GreeterImpl>();
  Serve(service);
  Greeter::Client greeter(channel());

  HelloReply reply;
  RpcStatus status = greeter.SayHello(Hello("Ada"), &reply);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(reply.message(), "Hello, Ada");

  auto reader = greeter.SayHelloStream(Hello("Bo"));
  std::vector<std::string> messages;
  while (reader->Read(&reply)) messages.push_back(reply.message());
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(messages, (std::vector<std::string>{"Bo 1", "Bo 2", "Bo 3"}));

  auto writer = greeter.Collect();
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(writer->Write(Hello(name)).ok());
  status = writer->Finish(&reply);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(reply.message(), "abc");

  auto chat = greeter.Chat();
  ASSERT_TRUE(chat->Write(Hello("x")).ok());
  ASSERT_TRUE(chat->Read(&reply));
  EXPECT_EQ(reply.message(), "echo x");
  ASSERT_TRUE(chat->Write(Hello("y")).ok());
  ASSERT_TRUE(chat->Read(&reply));
  EXPECT_EQ(reply.message(), "echo y");
  ASSERT_TRUE(chat->WritesDone().ok());
  EXPECT_FALSE(chat->Read(&reply));
  EXPECT_TRUE(chat->Finish().ok());
}

TEST_F(GeneratedCode, AsyncUnaryCallDeliversTheReply) {
  GreeterImpl& service = Make<GreeterImpl>();
  Serve(service);
  Greeter::Client greeter(channel());
  std::promise<std::pair<RpcStatus, HelloReply>> done;
  greeter.SayHelloAsync(Hello("Cy"), [&done](RpcStatus status, HelloReply reply) {
    done.set_value({std::move(status), std::move(reply)});
  });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [status, reply] = future.get();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(reply.message(), "Hello, Cy");
}

TEST_F(GeneratedCode, MethodsNotOverriddenAnswerUnimplemented) {
  EmptyGreeter& service = Make<EmptyGreeter>();
  Serve(service);
  Greeter::Client greeter(channel());
  HelloReply reply;
  EXPECT_EQ(greeter.SayHello(Hello("Ada"), &reply),
            RpcStatus(RpcCode::kUnimplemented, "greeter.v1.Greeter.SayHello is not implemented"));
  auto chat = greeter.Chat();
  EXPECT_FALSE(chat->Read(&reply));
  EXPECT_EQ(chat->Finish(),
            RpcStatus(RpcCode::kUnimplemented, "greeter.v1.Greeter.Chat is not implemented"));
}

TEST_F(GeneratedCode, HandlesQualifiedNestedAndGlobalTypes) {
  EdgeImpl& edge = Make<EdgeImpl>();
  PingerImpl& pinger = Make<PingerImpl>();
  Serve(edge);
  Serve(pinger);
  embed::testdata::edge::Edge::Client edge_client(channel());
  ::Pinger::Client pinger_client(channel());

  embed::testdata::edge::Echo echo;
  echo.set_text("same name as its method");
  embed::testdata::edge::Echo echoed;
  ASSERT_TRUE(edge_client.Echo(echo, &echoed).ok());
  EXPECT_EQ(echoed.text(), "same name as its method");

  ::testdata::shared::Envelope envelope;
  envelope.add_headers()->set_key("k");
  google::protobuf::Empty empty;
  ASSERT_TRUE(edge_client.Forward(envelope, &empty).ok());
  EXPECT_EQ(edge.forwarded_headers, 1);

  embed::testdata::edge::Outer_Inner inner;
  inner.set_text("nested");
  auto expand = edge_client.Expand(inner);
  embed::testdata::edge::Outer outer;
  ASSERT_TRUE(expand->Read(&outer));
  EXPECT_EQ(outer.inner().text(), "nested");
  EXPECT_FALSE(expand->Read(&outer));
  EXPECT_TRUE(expand->Finish().ok());

  ::PingRequest ping;
  ping.set_sequence(41);
  ::PingReply pong;
  ASSERT_TRUE(pinger_client.Ping(ping, &pong).ok());
  EXPECT_EQ(pong.sequence(), 42);
}

}  // namespace
}  // namespace embed::rpc::protoc
