#include "embed/net/tcp_listener.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST(TcpListener, AcceptErrorsBackOffFrom10msDoublingTo1s) {
  EXPECT_EQ(NextAcceptBackoff(0ms), 10ms);
  EXPECT_EQ(NextAcceptBackoff(10ms), 20ms);
  EXPECT_EQ(NextAcceptBackoff(20ms), 40ms);
  EXPECT_EQ(NextAcceptBackoff(320ms), 640ms);
  EXPECT_EQ(NextAcceptBackoff(640ms), 1000ms);
  EXPECT_EQ(NextAcceptBackoff(1000ms), 1000ms);
}

// In a forked child (it lowers its own file limit): a connection waits in
// the backlog while no descriptor is left, so every accept fails with
// EMFILE. The listener must back off instead of spinning on it.
int RunAcceptUnderEmfileAndReportCpu() {
  boost::asio::io_context context;
  auto listener = TcpListener::Open(context, "127.0.0.1", 0);
  if (!listener.ok()) return 2;
  int accepted = 0;
  (*listener)->Start([&context]() -> boost::asio::io_context& { return context; },
                     [&accepted](TcpSocket) { ++accepted; });
  tcp::socket client(context);
  boost::system::error_code error;
  client.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), (*listener)->port()),
                 error);
  if (error) return 3;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 4;
  limit.rlim_cur = 256;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) return 4;
  std::vector<int> fillers;
  for (int fd = dup(0); fd >= 0; fd = dup(0)) fillers.push_back(fd);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  context.run_for(400ms);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  context.stop();  // lets the listener close without waiting on the context
  auto micros = [](const timeval& value) {
    return static_cast<long long>(value.tv_sec) * 1'000'000 + value.tv_usec;
  };
  long long cpu = micros(after.ru_utime) + micros(after.ru_stime) - micros(before.ru_utime) -
                  micros(before.ru_stime);
  if (accepted != 0) return 5;
  // Spinning burns most of the 400 ms; backing off (10, 20, 40, ... ms)
  // takes a handful of failed accepts.
  return cpu < 100'000 ? 0 : 1;
}

TEST(TcpListener, AcceptErrorsDoNotSpin) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(RunAcceptUnderEmfileAndReportCpu());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1 = spun, 2..5 = setup failed";
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
