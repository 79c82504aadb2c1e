#include "clearing/transport.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <future>
#include <unordered_set>

#include <boost/asio.hpp>

namespace payengine::clearing::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Result<std::string> frame(std::string_view body, FrameHeader header) {
  const size_t n = body.size();
  if (n > max_body_bytes(header))
    return Error{"FRAME_TOO_LONG", "frame: body of " + std::to_string(n) + " bytes, maximum " +
                                       std::to_string(max_body_bytes(header))};
  const size_t h = static_cast<size_t>(header);
  std::string out;
  out.reserve(h + n);
  for (size_t i = h; i-- > 0;) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out.append(body);
  return out;
}

FrameReader::FrameReader(FrameHeader header, size_t max_frame_bytes)
    : header_(header), max_frame_bytes_(std::min(max_frame_bytes, max_body_bytes(header))) {}

Result<Unit> FrameReader::feed(std::string_view bytes, std::vector<std::string>& out) {
  if (error_) return *error_;
  buffer_.append(bytes);
  const size_t h = static_cast<size_t>(header_);
  size_t pos = 0;
  while (buffer_.size() - pos >= h) {
    size_t n = 0;
    for (size_t i = 0; i < h; ++i) n = (n << 8) | static_cast<unsigned char>(buffer_[pos + i]);
    if (n > max_frame_bytes_) {
      error_ = Error{"FRAME_TOO_LONG", "frame at stream offset " + std::to_string(stream_offset_ + pos) +
                                           ": length " + std::to_string(n) + " above maximum " +
                                           std::to_string(max_frame_bytes_)};
      buffer_.clear();
      buffer_.shrink_to_fit();
      return *error_;
    }
    if (buffer_.size() - pos - h < n) break;
    out.emplace_back(buffer_, pos + h, n);
    pos += h + n;
  }
  buffer_.erase(0, pos);
  stream_offset_ += pos;
  return Unit{};
}

// ---------------------------------------------------------------------------

struct IoThread::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
};

IoThread::IoThread() : impl_(std::make_unique<Impl>()) {}
IoThread::~IoThread() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}
asio::io_context& IoThread::context() { return impl_->io; }

// ---------------------------------------------------------------------------
// Writes: frames queue in `pending`; one async_write at a time carries every
// frame queued so far in one buffer (fewer system calls under load).

namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxCoalescedBytes = 256 * 1024;

}  // namespace

struct Connection::Impl : std::enable_shared_from_this<Connection::Impl> {
  Impl(asio::io_context& io_, ConnectionOptions o, Callbacks c)
      : io(io_), options(std::move(o)), callbacks(std::move(c)), socket(io_), timer(io_),
        reader(options.header, options.max_frame_bytes), backoff_ms(options.reconnect_min_ms) {}

  asio::io_context& io;
  ConnectionOptions options;
  Callbacks callbacks;
  tcp::socket socket;
  asio::steady_timer timer;
  FrameReader reader;
  std::array<char, kReadChunk> read_buffer{};
  std::deque<std::string> pending;  // I/O thread only
  std::string writing_buffer;
  bool writing = false;
  uint64_t generation = 0;  // bumps on every (re)connect; stale handlers bail out
  int64_t backoff_ms;
  std::atomic<bool> is_up{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> queued{0};
  std::mutex callback_mutex;  // held while a callback runs; close() takes it
  bool callbacks_closed = false;

  void notify_state(bool up) {
    std::lock_guard<std::mutex> lock(callback_mutex);
    if (!callbacks_closed && callbacks.on_state) callbacks.on_state(up);
  }
  void deliver(std::string f) {
    std::lock_guard<std::mutex> lock(callback_mutex);
    if (!callbacks_closed && callbacks.on_frame) callbacks.on_frame(std::move(f));
  }

  void connect() {
    if (stopped) return;
    auto self = shared_from_this();
    uint64_t gen = ++generation;
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (ec) return schedule_reconnect();
    socket = tcp::socket(io);
    socket.async_connect(tcp::endpoint(address, options.port),
                         [self, gen](const boost::system::error_code& e) {
                           if (self->stopped || gen != self->generation) return;
                           if (e) return self->fail(gen);
                           boost::system::error_code ignored;
                           self->socket.set_option(tcp::no_delay(true), ignored);
                           self->backoff_ms = self->options.reconnect_min_ms;
                           self->reader = FrameReader(self->options.header, self->options.max_frame_bytes);
                           self->is_up = true;
                           self->notify_state(true);
                           self->read(gen);
                         });
  }

  void schedule_reconnect() {
    if (stopped) return;
    auto self = shared_from_this();
    timer.expires_after(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, options.reconnect_max_ms);
    timer.async_wait([self](const boost::system::error_code& e) {
      if (!e) self->connect();
    });
  }

  // Drops the socket and everything queued on it, then reconnects.
  void fail(uint64_t gen) {
    if (gen != generation) return;
    ++generation;
    boost::system::error_code ignored;
    socket.close(ignored);
    queued -= pending.size();
    pending.clear();
    writing = false;
    bool was_up = is_up.exchange(false);
    if (was_up) notify_state(false);
    schedule_reconnect();
  }

  void read(uint64_t gen) {
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(read_buffer),
                           [self, gen](const boost::system::error_code& e, size_t n) {
                             if (self->stopped || gen != self->generation) return;
                             if (e) return self->fail(gen);
                             std::vector<std::string> frames;
                             auto fed = self->reader.feed(
                                 std::string_view(self->read_buffer.data(), n), frames);
                             for (auto& f : frames) self->deliver(std::move(f));
                             if (!fed) return self->fail(gen);
                             self->read(gen);
                           });
  }

  void write_next() {
    if (pending.empty()) {
      writing = false;
      return;
    }
    writing = true;
    writing_buffer.clear();
    size_t frames = 0;
    while (!pending.empty() && (frames == 0 || writing_buffer.size() < kMaxCoalescedBytes)) {
      writing_buffer += pending.front();
      pending.pop_front();
      ++frames;
    }
    auto self = shared_from_this();
    uint64_t gen = generation;
    asio::async_write(socket, asio::buffer(writing_buffer),
                      [self, gen, frames](const boost::system::error_code& e, size_t) {
                        self->queued -= frames;
                        if (self->stopped || gen != self->generation) return;
                        if (e) return self->fail(gen);
                        self->write_next();
                      });
  }

  bool send(std::string body) {
    if (stopped || !is_up) return false;
    auto framed = frame(body, options.header);
    if (!framed) return false;  // longer than the header can say: refused like a full queue
    if (queued.fetch_add(1) >= options.max_write_queue) {
      --queued;
      return false;
    }
    auto self = shared_from_this();
    asio::post(io, [self, f = std::move(*framed)]() mutable {
      if (self->stopped || !self->is_up) {
        --self->queued;
        return;
      }
      self->pending.push_back(std::move(f));
      if (!self->writing) self->write_next();
    });
    return true;
  }

  void close() {
    {
      std::lock_guard<std::mutex> lock(callback_mutex);
      callbacks_closed = true;
    }
    stopped = true;
    is_up = false;
    auto self = shared_from_this();
    asio::post(io, [self] {
      boost::system::error_code ignored;
      self->timer.cancel();
      self->socket.close(ignored);
    });
  }
};

Connection::Connection(asio::io_context& io, ConnectionOptions options, Callbacks callbacks)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(callbacks))) {
  auto impl = impl_;
  asio::post(io, [impl] { impl->connect(); });
}
Connection::~Connection() { impl_->close(); }
bool Connection::send(std::string body) { return impl_->send(std::move(body)); }
bool Connection::up() const { return impl_->is_up; }

// ---------------------------------------------------------------------------

struct FrameServer::Impl : std::enable_shared_from_this<FrameServer::Impl> {
  struct Session : std::enable_shared_from_this<Session> {
    Session(std::shared_ptr<Impl> s, tcp::socket sock)
        : server(std::move(s)), socket(std::move(sock)),
          reader(server->options.header, server->options.max_frame_bytes) {}
    std::shared_ptr<Impl> server;
    tcp::socket socket;
    FrameReader reader;
    std::array<char, kReadChunk> read_buffer{};
    std::deque<std::string> pending;
    std::string writing_buffer;
    bool writing = false;
    bool open = true;

    void read() {
      auto self = shared_from_this();
      socket.async_read_some(asio::buffer(read_buffer), [self](const boost::system::error_code& e,
                                                               size_t n) {
        if (!self->open) return;
        if (e) return self->close();
        std::vector<std::string> frames;
        auto fed = self->reader.feed(std::string_view(self->read_buffer.data(), n), frames);
        for (auto& f : frames) {
          ++self->server->received;
          for (auto& out : self->server->handle(std::move(f))) self->send_after(out.delay_ms, std::move(out.body));
        }
        if (!fed) return self->close();
        self->read();
      });
    }
    void send_after(int64_t delay_ms, std::string body) {
      if (delay_ms <= 0) return send(std::move(body));
      auto self = shared_from_this();
      auto timer = std::make_shared<asio::steady_timer>(socket.get_executor());
      timer->expires_after(std::chrono::milliseconds(delay_ms));
      timer->async_wait([self, timer, b = std::move(body)](const boost::system::error_code& e) mutable {
        if (!e) self->send(std::move(b));
      });
    }
    void send(std::string body) {
      if (!open) return;
      auto framed = frame(body, server->options.header);
      if (!framed) return close();  // a counterpart cannot answer what its header cannot carry
      pending.push_back(std::move(*framed));
      if (!writing) write_next();
    }
    void write_next() {
      if (pending.empty()) {
        writing = false;
        return;
      }
      writing = true;
      writing_buffer.clear();
      while (!pending.empty() && (writing_buffer.empty() || writing_buffer.size() < kMaxCoalescedBytes)) {
        writing_buffer += pending.front();
        pending.pop_front();
      }
      auto self = shared_from_this();
      asio::async_write(socket, asio::buffer(writing_buffer),
                        [self](const boost::system::error_code& e, size_t) {
                          if (!self->open) return;
                          if (e) return self->close();
                          self->write_next();
                        });
    }
    void close() {
      if (!open) return;
      open = false;
      boost::system::error_code ignored;
      socket.close(ignored);
      pending.clear();
      server->sessions.erase(shared_from_this());
      server->session_count = server->sessions.size();
    }
  };

  Impl(asio::io_context& io_, Options o, Handler h)
      : io(io_), options(o), handler(std::move(h)), acceptor(io_) {}

  asio::io_context& io;
  Options options;
  Handler handler;
  tcp::acceptor acceptor;
  uint16_t bound_port = 0;
  std::unordered_set<std::shared_ptr<Session>> sessions;  // I/O thread only
  std::atomic<size_t> session_count{0};
  std::atomic<uint64_t> received{0};
  std::atomic<bool> down{false};
  std::mutex handler_mutex;
  bool handler_closed = false;

  std::vector<Outbound> handle(std::string f) {
    std::lock_guard<std::mutex> lock(handler_mutex);
    if (handler_closed) return {};
    return handler(std::move(f));
  }

  Result<Unit> listen(uint16_t port) {
    boost::system::error_code ec;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      boost::system::error_code ignored;
      acceptor.close(ignored);
      return Error{"bind", "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + ec.message()};
    }
    bound_port = acceptor.local_endpoint().port();
    return Unit{};
  }

  void accept() {
    auto self = shared_from_this();
    acceptor.async_accept([self](const boost::system::error_code& e, tcp::socket socket) {
      if (e) {
        if (e == asio::error::operation_aborted || !self->acceptor.is_open()) return;
        return self->accept();
      }
      if (self->down || self->sessions.size() >= self->options.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        auto s = std::make_shared<Session>(self, std::move(socket));
        self->sessions.insert(s);
        self->session_count = self->sessions.size();
        s->read();
      }
      self->accept();
    });
  }

  void close_sessions() {
    auto all = sessions;
    for (auto& s : all) s->close();
    sessions.clear();
    session_count = 0;
  }
};

Result<std::unique_ptr<FrameServer>> FrameServer::start(asio::io_context& io, Options options,
                                                        Handler handler) {
  auto impl = std::make_shared<Impl>(io, options, std::move(handler));
  auto listening = impl->listen(options.port);
  if (!listening) return listening.error();
  asio::post(io, [impl] { impl->accept(); });
  return std::unique_ptr<FrameServer>(new FrameServer(impl));
}

FrameServer::FrameServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

FrameServer::~FrameServer() {
  {
    std::lock_guard<std::mutex> lock(impl_->handler_mutex);
    impl_->handler_closed = true;
  }
  // Sessions and the server point at each other until closed: close them
  // on the I/O thread and wait, so nothing outlives the server.
  auto impl = impl_;
  auto shutdown = [impl] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    impl->close_sessions();
  };
  if (impl->io.get_executor().running_in_this_thread() || impl->io.stopped()) {
    shutdown();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto finished = done->get_future();
  asio::post(impl->io, [done, shutdown] {
    shutdown();
    done->set_value();
  });
  finished.wait_for(std::chrono::seconds(5));
}

uint16_t FrameServer::port() const { return impl_->bound_port; }

void FrameServer::set_down(bool down) {
  impl_->down = down;
  auto impl = impl_;
  asio::post(impl->io, [impl, down] {
    boost::system::error_code ignored;
    if (down) {
      impl->acceptor.close(ignored);
      impl->close_sessions();
    } else if (!impl->acceptor.is_open()) {
      if (impl->listen(impl->bound_port)) impl->accept();
    }
  });
}

uint64_t FrameServer::frames_received() const { return impl_->received; }
size_t FrameServer::connections() const { return impl_->session_count; }

}  // namespace payengine::clearing::net
