#pragma once
// Shared setup of the RPC integration tests: a broker per test, a server-side
// and a client-side connection, and a raw-bytes test service.

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "embed/client/connection.h"
#include "embed/rpc/channel.h"
#include "embed/rpc/service_host.h"
#include "embed/testing/broker_fixture.h"

namespace embed::rpc::testing {

class RpcFixture : public embed::testing::BrokerFixture {
 protected:
  void SetUp() override { StartBroker(); }
  void TearDown() override {
    hosts_.clear();
    services_.clear();
    connections_.clear();
    BrokerFixture::TearDown();
  }

  // A service owned by the fixture, so it outlives the hosts serving it
  // (their handler threads may still run after the test body).
  template <class ServiceType>
  ServiceType& Make() {
    services_.push_back(std::make_unique<ServiceType>());
    return static_cast<ServiceType&>(*services_.back());
  }

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port()); }

  // A new connection to the test broker, owned by the fixture.
  client::Connection& Connect() {
    client::ConnectionOptions options;
    options.urls = {url()};
    auto connection = client::Connection::Connect(options);
    EXPECT_TRUE(connection.ok()) << connection.status().ToString();
    connections_.push_back(std::move(*connection));
    return *connections_.back();
  }
  // A host on a connection of its own serving `service`.
  ServiceHost& Serve(Service& service, ServiceHostOptions options = {},
                     const ServiceOptions& service_options = {}) {
    hosts_.push_back(std::make_unique<ServiceHost>(Connect(), options));
    Status added = hosts_.back()->AddService(service, service_options);
    EXPECT_TRUE(added.ok()) << added.ToString();
    // The subscriptions reach the broker before any call that follows.
    EXPECT_TRUE(connections_.back()->Flush(std::chrono::seconds(2)).ok());
    return *hosts_.back();
  }

 private:
  std::vector<std::unique_ptr<client::Connection>> connections_;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<std::unique_ptr<ServiceHost>> hosts_;
};

}  // namespace embed::rpc::testing
