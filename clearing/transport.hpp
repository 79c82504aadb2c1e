// Framed TCP between a rail adapter and its counterpart (the real rail's
// gateway, or railsim). Every rail speaks length-prefixed frames: a 2-byte
// big-endian length for ISO 8583 (RTC), a 4-byte one for XML, ACB files and
// FIN messages. The bodies are the rail's own wire format.
//
// Promises:
//  - Nothing here blocks a caller: sends are queued to the I/O thread, and
//    every queue is bounded (a full write queue refuses the send).
//  - Frames are delivered whole and in order per connection; a frame above
//    the configured maximum closes the connection (a peer that lies about a
//    length cannot make us buffer without bound).
//  - A client connection reconnects by itself with bounded backoff; while
//    it is down, sends are refused at once (the caller counts a transport
//    failure against the rail's circuit breaker).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sagas/result.hpp"

namespace boost::asio {
class io_context;
}

namespace payengine::clearing::net {

enum class FrameHeader : uint8_t { u16 = 2, u32 = 4 };

// The largest body a header can announce: 65,535 bytes (u16), 4 GiB - 1 (u32).
constexpr size_t max_body_bytes(FrameHeader header) {
  return header == FrameHeader::u16 ? 0xFFFFu : 0xFFFFFFFFu;
}

// Prefixes `body` with its length, big endian. A body longer than the
// header can announce is refused (code FRAME_TOO_LONG).
Result<std::string> frame(std::string_view body, FrameHeader header);

// Splits a byte stream into frame bodies, whatever the read boundaries.
// Holds at most one partial frame (header + `max_frame_bytes`). A frame
// announcing more than `max_frame_bytes` is an error (FRAME_TOO_LONG, naming
// its stream offset), refused at its header before any of its body is
// buffered; frames completed before it in the same read are still
// delivered. The error is final: the stream cannot be resynchronised, so
// every later feed returns it and the connection should be closed. A
// zero-length frame yields an empty body.
class FrameReader {
 public:
  FrameReader(FrameHeader header, size_t max_frame_bytes);
  // Appends the bodies `bytes` completes to `out`, in stream order.
  Result<Unit> feed(std::string_view bytes, std::vector<std::string>& out);
  bool failed() const { return error_.has_value(); }
  // Bytes of the partial frame held: never above header + max_frame_bytes.
  size_t buffered() const { return buffer_.size(); }

 private:
  FrameHeader header_;
  size_t max_frame_bytes_;
  std::string buffer_;
  uint64_t stream_offset_ = 0;  // stream offset of buffer_[0], for error messages
  std::optional<Error> error_;
};

// One thread running an io_context until stopped. Owns both.
class IoThread {
 public:
  IoThread();
  ~IoThread();  // stops the loop and joins
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;
  boost::asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ConnectionOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  FrameHeader header = FrameHeader::u32;
  size_t max_frame_bytes = 4 << 20;
  size_t max_write_queue = 4'096;  // frames waiting for the socket
  int64_t reconnect_min_ms = 10;
  int64_t reconnect_max_ms = 1'000;
};

// A client connection that keeps itself connected.
class Connection {
 public:
  struct Callbacks {
    std::function<void(std::string frame)> on_frame;  // on the I/O thread
    std::function<void(bool up)> on_state;            // on the I/O thread
  };
  // Starts connecting at once. `io` must outlive the connection.
  Connection(boost::asio::io_context& io, ConnectionOptions options, Callbacks callbacks);
  ~Connection();  // closes; no callback runs after it returns
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Queues a frame body. False when the connection is down or its write
  // queue is full. Thread-safe.
  bool send(std::string body);
  bool up() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// A framed server for rail counterparts. The handler gets each inbound
// frame and answers with frames to send back, each after its own delay (a
// delayed answer to a connection that has gone is dropped, as on a real
// network). Listens on 127.0.0.1.
class FrameServer {
 public:
  struct Outbound {
    int64_t delay_ms = 0;
    std::string body;
  };
  using Handler = std::function<std::vector<Outbound>(std::string frame)>;

  struct Options {
    uint16_t port = 0;  // 0: the system picks; see port()
    FrameHeader header = FrameHeader::u32;
    size_t max_frame_bytes = 4 << 20;
    size_t max_connections = 256;
  };
  // Binds at once (error if the port is taken). `io` must outlive it. The
  // handler runs on the I/O thread.
  static Result<std::unique_ptr<FrameServer>> start(boost::asio::io_context& io, Options options,
                                                    Handler handler);
  ~FrameServer();
  uint16_t port() const;
  // An outage: closes the listener and every connection (peers see
  // connection refused); `false` listens again on the same port.
  void set_down(bool down);
  uint64_t frames_received() const;
  size_t connections() const;

 private:
  struct Impl;
  explicit FrameServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace payengine::clearing::net
