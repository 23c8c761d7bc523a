// embed_grpc_bench: the echo service of the RPC benchmark over gRPC C++
// (insecure HTTP/2 on 127.0.0.1, default server threads), the baseline of
// bench/rpc_run.py. A program of its own: its echo.pb.cc (protoc's) and
// embed_rpc_bench's register the same descriptor, which one process cannot.
//
//   embed_grpc_bench --role server [--server-api sync|callback]
//                                     prints {"address": "127.0.0.1:<port>"},
//                                     serves until stdin closes
//   embed_grpc_bench --role client --address 127.0.0.1:<port> [--smoke]
//                                     [load flags of echo_bench.h]
//
// The client's 64-in-flight calls use the completion-queue API (one thread
// polling, the way gRPC's own qps benchmark drives it); the other calls use
// the synchronous API.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "bench/rpc/echo_bench.h"
#include "echo.grpc.pb.h"

namespace {

using embed::bench::ClientConfig;
using embed::bench::Fail;
using embed::bench::Flags;
using embed::bench::v1::Chunk;
using embed::bench::v1::DownloadRequest;
using embed::bench::v1::EchoReply;
using embed::bench::v1::EchoRequest;
using embed::bench::v1::UploadSummary;
using EchoStub = embed::bench::v1::Echo::Stub;

// The synchronous API: handlers on gRPC's thread pool.
class EchoService final : public embed::bench::v1::Echo::Service {
 public:
  grpc::Status Echo(grpc::ServerContext*, const EchoRequest* request, EchoReply* reply) override {
    reply->set_payload(request->payload());
    return grpc::Status::OK;
  }

  grpc::Status Download(grpc::ServerContext*, const DownloadRequest* request,
                        grpc::ServerWriter<Chunk>* writer) override {
    Chunk chunk;
    chunk.set_payload(std::string(request->chunk_bytes(), 'x'));
    for (std::uint32_t i = 0; i < request->chunks(); ++i) {
      if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "client gone");
    }
    return grpc::Status::OK;
  }

  grpc::Status Upload(grpc::ServerContext*, grpc::ServerReader<Chunk>* reader,
                      UploadSummary* summary) override {
    Chunk chunk;
    std::uint64_t chunks = 0;
    std::uint64_t bytes = 0;
    while (reader->Read(&chunk)) {
      ++chunks;
      bytes += chunk.payload().size();
    }
    summary->set_chunks(chunks);
    summary->set_bytes(bytes);
    return grpc::Status::OK;
  }
};

// The callback API: reactors run on gRPC's own threads.
class CallbackEchoService final : public embed::bench::v1::Echo::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const EchoRequest* request,
                                 EchoReply* reply) override {
    reply->set_payload(request->payload());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<Chunk>* Download(grpc::CallbackServerContext*,
                                            const DownloadRequest* request) override {
    class Writer final : public grpc::ServerWriteReactor<Chunk> {
     public:
      Writer(std::uint32_t chunks, std::uint32_t chunk_bytes) : left_(chunks) {
        chunk_.set_payload(std::string(chunk_bytes, 'x'));
        WriteNext();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client gone"));
          return;
        }
        WriteNext();
      }
      void OnDone() override { delete this; }

     private:
      void WriteNext() {
        if (left_ == 0) {
          Finish(grpc::Status::OK);
          return;
        }
        --left_;
        StartWrite(&chunk_);
      }
      std::uint32_t left_;
      Chunk chunk_;
    };
    return new Writer(request->chunks(), request->chunk_bytes());
  }

  grpc::ServerReadReactor<Chunk>* Upload(grpc::CallbackServerContext*,
                                         UploadSummary* summary) override {
    class Reader final : public grpc::ServerReadReactor<Chunk> {
     public:
      explicit Reader(UploadSummary* summary) : summary_(summary) { StartRead(&chunk_); }
      void OnReadDone(bool ok) override {
        if (!ok) {  // the client's WritesDone
          summary_->set_chunks(chunks_);
          summary_->set_bytes(bytes_);
          Finish(grpc::Status::OK);
          return;
        }
        ++chunks_;
        bytes_ += chunk_.payload().size();
        StartRead(&chunk_);
      }
      void OnDone() override { delete this; }

     private:
      UploadSummary* summary_;
      Chunk chunk_;
      std::uint64_t chunks_ = 0;
      std::uint64_t bytes_ = 0;
    };
    return new Reader(summary);
  }
};

class GrpcTarget final : public embed::bench::EchoTarget {
 public:
  explicit GrpcTarget(const std::string& address)
      : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(embed::bench::v1::Echo::NewStub(channel_)) {}

  void Echo(const std::string& payload) override {
    grpc::ClientContext context;
    EchoRequest request;
    request.set_payload(payload);
    EchoReply reply;
    grpc::Status status = stub_->Echo(&context, request, &reply);
    if (!status.ok()) Fail("Echo: " + status.error_message());
    if (reply.payload().size() != payload.size()) Fail("Echo: wrong reply");
  }

  void EchoInFlight(const std::string& payload, int calls, int in_flight) override {
    struct Call {
      grpc::ClientContext context;
      EchoReply reply;
      grpc::Status status;
      std::unique_ptr<grpc::ClientAsyncResponseReader<EchoReply>> reader;
    };
    EchoRequest request;
    request.set_payload(payload);
    grpc::CompletionQueue queue;
    int started = 0;
    auto start_call = [&] {
      auto* call = new Call;
      call->reader = stub_->AsyncEcho(&call->context, request, &queue);
      call->reader->Finish(&call->reply, &call->status, call);
      ++started;
    };
    for (int i = 0; i < std::min(calls, in_flight); ++i) start_call();
    void* tag = nullptr;
    bool ok = false;
    for (int finished = 0; finished < calls;) {
      if (!queue.Next(&tag, &ok)) Fail("completion queue shut down");
      std::unique_ptr<Call> call(static_cast<Call*>(tag));
      if (!ok || !call->status.ok()) Fail("async Echo: " + call->status.error_message());
      ++finished;
      if (started < calls) start_call();
    }
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
  }

  std::uint64_t Download(int chunks, int chunk_bytes) override {
    grpc::ClientContext context;
    DownloadRequest request;
    request.set_chunks(static_cast<std::uint32_t>(chunks));
    request.set_chunk_bytes(static_cast<std::uint32_t>(chunk_bytes));
    auto reader = stub_->Download(&context, request);
    Chunk chunk;
    std::uint64_t bytes = 0;
    while (reader->Read(&chunk)) bytes += chunk.payload().size();
    grpc::Status status = reader->Finish();
    if (!status.ok()) Fail("Download: " + status.error_message());
    return bytes;
  }

  std::uint64_t Upload(int chunks, int chunk_bytes) override {
    grpc::ClientContext context;
    UploadSummary summary;
    auto writer = stub_->Upload(&context, &summary);
    Chunk chunk;
    chunk.set_payload(std::string(static_cast<std::size_t>(chunk_bytes), 'x'));
    for (int i = 0; i < chunks; ++i) {
      if (!writer->Write(chunk)) break;  // Finish() says why
    }
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (!status.ok()) Fail("Upload: " + status.error_message());
    return summary.bytes();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EchoStub> stub_;
};

void Serve(const std::string& api) {
  EchoService sync_service;
  CallbackEchoService callback_service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  if (api == "sync") {
    builder.RegisterService(&sync_service);
  } else if (api == "callback") {
    builder.RegisterService(&callback_service);
  } else {
    Fail("unknown --server-api " + api + " (sync, callback)");
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) Fail("gRPC server did not start");
  embed::bench::AnnounceAndServe("{\"address\": \"127.0.0.1:" + std::to_string(port) + "\"}");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags(argc, argv);
  const std::string role = flags.Require("role");
  if (role == "server") {
    Serve(flags.Get("server-api", "sync"));
  } else if (role == "client") {
    GrpcTarget target(flags.Require("address"));
    embed::bench::RunClient(target, ClientConfig::FromFlags(flags));
  } else {
    Fail("unknown --role " + role + " (server, client)");
  }
  return 0;
}
