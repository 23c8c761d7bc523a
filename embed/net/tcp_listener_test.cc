#include "embed/net/tcp_listener.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "embed/net/io_thread_pool.h"
#include "embed/net/tcp_stream.h"

namespace embed::net {
namespace {

using boost::asio::ip::tcp;
using namespace std::chrono_literals;

// Echoes what it reads until the peer closes: exercises ReadSome,
// AsyncWaitReadable and AsyncWrite the way a session does.
struct Echo : std::enable_shared_from_this<Echo> {
  explicit Echo(TcpSocket socket) : stream(std::move(socket)) {}
  void Wait() {
    stream.AsyncWaitReadable([self = shared_from_this()](boost::system::error_code error) {
      if (!error) self->Read();
    });
  }
  void Read() {
    boost::system::error_code error;
    std::size_t count = stream.ReadSome(boost::asio::buffer(buffer), error);
    if (error == boost::asio::error::would_block) return Wait();
    if (error) return stream.Close();
    data.assign(buffer, count);
    stream.AsyncWrite(boost::asio::buffer(data),
                      [self = shared_from_this()](boost::system::error_code write_error,
                                                  std::size_t) {
                        if (!write_error) self->Wait();
                      });
  }
  TcpStream stream;
  char buffer[256];
  std::string data;
};

TEST(TcpListener, BindsAnEphemeralPortAndHandsOutStreamsThatEchoBytes) {
  IoThreadPool pool(2);
  auto listener = TcpListener::Open(pool.context(0), "127.0.0.1", 0);
  ASSERT_TRUE(listener.ok()) << listener.status().ToString();
  EXPECT_NE((*listener)->port(), 0);
  pool.Start();
  std::promise<std::string> remote;
  bool remote_set = false;
  (*listener)->Start([&pool]() -> boost::asio::io_context& { return pool.context(1); },
                     [&](TcpSocket socket) {
                       auto echo = std::make_shared<Echo>(std::move(socket));
                       if (!remote_set) {
                         remote_set = true;
                         remote.set_value(echo->stream.remote_address());
                       }
                       echo->Wait();
                     });

  boost::asio::io_context client_context;
  tcp::socket client(client_context);
  client.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), (*listener)->port()));
  boost::asio::write(client, boost::asio::buffer(std::string("hello")));
  char reply[5];
  boost::asio::read(client, boost::asio::buffer(reply));
  EXPECT_EQ(std::string(reply, 5), "hello");
  auto future = remote.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), "127.0.0.1");

  (*listener)->Close();
  (*listener)->Close();  // idempotent
  pool.Stop();
}

TEST(TcpListener, ReportsAnErrorWhenThePortIsTaken) {
  IoThreadPool pool(1);
  auto first = TcpListener::Open(pool.context(0), "127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  // SO_REUSEADDR does not allow two listeners on one port.
  auto second = TcpListener::Open(pool.context(0), "127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace embed::net
