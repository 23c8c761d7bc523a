// Sanity interop: the C client libnats connects, publishes, subscribes and
// makes requests against the broker (the full interop suite lives elsewhere).
#include <nats/nats.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "embed/testing/broker_fixture.h"

namespace embed::testing {
namespace {

class LibnatsBasics : public BrokerFixture {
 protected:
  void SetUp() override { StartBroker(); }
  void TearDown() override {
    if (connection_ != nullptr) natsConnection_Destroy(connection_);
    BrokerFixture::TearDown();
  }
  natsConnection* Connect() {
    std::string url = broker().url();
    natsStatus status = natsConnection_ConnectTo(&connection_, url.c_str());
    EXPECT_EQ(status, NATS_OK) << natsStatus_GetText(status);
    return connection_;
  }
  natsConnection* connection_ = nullptr;
};

TEST_F(LibnatsBasics, ConnectsPublishesAndReceives) {
  natsConnection* connection = Connect();
  ASSERT_NE(connection, nullptr);
  natsSubscription* subscription = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&subscription, connection, "interop.>"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishString(connection, "interop.hello", "world"), NATS_OK);
  natsMsg* message = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&message, subscription, 5000), NATS_OK);
  EXPECT_STREQ(natsMsg_GetSubject(message), "interop.hello");
  EXPECT_EQ(std::string(natsMsg_GetData(message), natsMsg_GetDataLength(message)), "world");
  natsMsg_Destroy(message);
  natsSubscription_Destroy(subscription);
}

TEST_F(LibnatsBasics, RequestReplyWorksAndNoRespondersFailsFast) {
  natsConnection* connection = Connect();
  ASSERT_NE(connection, nullptr);
  natsSubscription* service = nullptr;
  ASSERT_EQ(natsConnection_QueueSubscribeSync(&service, connection, "svc.add", "workers"),
            NATS_OK);
  ASSERT_EQ(natsConnection_Flush(connection), NATS_OK);
  natsMsg* reply = nullptr;
  natsStatus status = natsConnection_RequestString(&reply, connection, "svc.none", "x", 5000);
  EXPECT_EQ(status, NATS_NO_RESPONDERS);
  // Answer one request from another thread while this one waits.
  natsConnection* responder_connection = nullptr;
  ASSERT_EQ(natsConnection_ConnectTo(&responder_connection, broker().url().c_str()), NATS_OK);
  natsSubscription* responder = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&responder, responder_connection, "svc.echo"), NATS_OK);
  ASSERT_EQ(natsConnection_Flush(responder_connection), NATS_OK);
  std::thread answer([&] {
    natsMsg* request = nullptr;
    if (natsSubscription_NextMsg(&request, responder, 5000) != NATS_OK) return;
    natsConnection_PublishString(responder_connection, natsMsg_GetReply(request), "echoed");
    natsMsg_Destroy(request);
  });
  status = natsConnection_RequestString(&reply, connection, "svc.echo", "hi", 5000);
  answer.join();
  ASSERT_EQ(status, NATS_OK) << natsStatus_GetText(status);
  EXPECT_EQ(std::string(natsMsg_GetData(reply), natsMsg_GetDataLength(reply)), "echoed");
  natsMsg_Destroy(reply);
  natsSubscription_Destroy(responder);
  natsConnection_Destroy(responder_connection);
  natsSubscription_Destroy(service);
}

TEST_F(LibnatsBasics, HeadersRoundTrip) {
  natsConnection* connection = Connect();
  ASSERT_NE(connection, nullptr);
  natsSubscription* subscription = nullptr;
  ASSERT_EQ(natsConnection_SubscribeSync(&subscription, connection, "hdr"), NATS_OK);
  natsMsg* message = nullptr;
  ASSERT_EQ(natsMsg_Create(&message, "hdr", nullptr, "body", 4), NATS_OK);
  ASSERT_EQ(natsMsgHeader_Set(message, "Trace-Id", "abc"), NATS_OK);
  ASSERT_EQ(natsConnection_PublishMsg(connection, message), NATS_OK);
  natsMsg_Destroy(message);
  natsMsg* received = nullptr;
  ASSERT_EQ(natsSubscription_NextMsg(&received, subscription, 5000), NATS_OK);
  const char* value = nullptr;
  ASSERT_EQ(natsMsgHeader_Get(received, "Trace-Id", &value), NATS_OK);
  EXPECT_STREQ(value, "abc");
  natsMsg_Destroy(received);
  natsSubscription_Destroy(subscription);
}

}  // namespace
}  // namespace embed::testing
