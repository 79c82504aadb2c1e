// Framed TCP transport: frame splitting, a real loopback server and client,
// outages and reconnects, and the bounds on buffering.
#define BOOST_TEST_MODULE transport
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>

#include "clearing/transport.hpp"
#include "fixtures.hpp"

using namespace payengine::clearing::net;

namespace {

struct Inbox {
  std::mutex mutex;
  std::vector<std::string> frames;
  void push(std::string f) {
    std::lock_guard<std::mutex> lock(mutex);
    frames.push_back(std::move(f));
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return frames.size();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(frame_reader_splits_and_joins) {
  for (auto header : {FrameHeader::u16, FrameHeader::u32}) {
    std::string stream = frame("alpha", header).value() + frame("", header).value() +
                         frame(std::string(1000, 'x'), header).value();
    // Fed one byte at a time.
    FrameReader one(header, 4096);
    std::vector<std::string> out;
    for (char c : stream) BOOST_REQUIRE(one.feed(std::string_view(&c, 1), out).ok());
    BOOST_REQUIRE_EQUAL(out.size(), 3u);
    BOOST_CHECK_EQUAL(out[0], "alpha");
    BOOST_CHECK_EQUAL(out[1], "");
    BOOST_CHECK_EQUAL(out[2], std::string(1000, 'x'));
    BOOST_CHECK_EQUAL(one.buffered(), 0u);
    // All at once.
    FrameReader all(header, 4096);
    out.clear();
    BOOST_REQUIRE(all.feed(stream, out).ok());
    BOOST_CHECK_EQUAL(out.size(), 3u);
  }
  BOOST_CHECK_EQUAL(frame("ab", FrameHeader::u16).value(), std::string("\x00\x02" "ab", 4));
  BOOST_CHECK_EQUAL(frame("ab", FrameHeader::u32).value(), std::string("\x00\x00\x00\x02" "ab", 6));
  // A u16 header cannot announce 65,536 bytes: refused, not truncated.
  BOOST_CHECK(frame(std::string(65535, 'x'), FrameHeader::u16).ok());
  auto too_long = frame(std::string(65536, 'x'), FrameHeader::u16);
  BOOST_REQUIRE(!too_long.ok());
  BOOST_CHECK_EQUAL(too_long.error().code, "FRAME_TOO_LONG");
}

BOOST_AUTO_TEST_CASE(frame_reader_refuses_oversized_frames) {
  FrameReader r(FrameHeader::u32, 100);
  std::vector<std::string> out;
  auto fed = r.feed(frame(std::string(101, 'y'), FrameHeader::u32).value().substr(0, 4), out);
  BOOST_REQUIRE(!fed.ok());
  BOOST_CHECK_EQUAL(fed.error().code, "FRAME_TOO_LONG");
  BOOST_CHECK(out.empty());
  BOOST_CHECK_EQUAL(r.buffered(), 0u);  // nothing kept of a stream that cannot resync
  // The error is final: a later, valid frame is not read.
  auto later = r.feed(frame("ok", FrameHeader::u32).value(), out);
  BOOST_REQUIRE(!later.ok());
  BOOST_CHECK_EQUAL(later.error().message, fed.error().message);
  BOOST_CHECK(out.empty());
  BOOST_CHECK(r.failed());
}

BOOST_AUTO_TEST_CASE(echo_over_loopback_with_an_outage) {
  IoThread io;
  auto server = FrameServer::start(io.context(), {}, [](std::string f) {
    return std::vector<FrameServer::Outbound>{{0, "echo:" + f}, {20, "late:" + f}};
  });
  BOOST_REQUIRE(server.ok());
  BOOST_REQUIRE_NE((*server)->port(), 0);

  Inbox inbox;
  std::atomic<int> ups{0}, downs{0};
  ConnectionOptions options;
  options.port = (*server)->port();
  Connection client(io.context(), options,
                    {[&](std::string f) { inbox.push(std::move(f)); },
                     [&](bool up) { (up ? ups : downs)++; }});
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return client.up(); }));
  for (int i = 0; i < 100; ++i) BOOST_REQUIRE(client.send("m" + std::to_string(i)));
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return inbox.size() == 200; }));
  {
    std::lock_guard<std::mutex> lock(inbox.mutex);
    // The immediate echoes arrive in order.
    std::vector<std::string> echoes;
    for (auto& f : inbox.frames)
      if (f.rfind("echo:", 0) == 0) echoes.push_back(f);
    BOOST_REQUIRE_EQUAL(echoes.size(), 100u);
    for (int i = 0; i < 100; ++i) BOOST_CHECK_EQUAL(echoes[i], "echo:m" + std::to_string(i));
  }
  BOOST_CHECK_EQUAL((*server)->frames_received(), 100u);

  // Outage: the client sees the connection drop and sends are refused.
  (*server)->set_down(true);
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return !client.up(); }));
  BOOST_CHECK(!client.send("lost"));
  BOOST_CHECK_EQUAL(downs.load(), 1);
  // Back up: the client reconnects by itself.
  (*server)->set_down(false);
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return client.up(); }));
  BOOST_CHECK_EQUAL(ups.load(), 2);
  BOOST_REQUIRE(client.send("again"));
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return inbox.size() == 202; }));
}

BOOST_AUTO_TEST_CASE(a_peer_that_lies_about_a_length_is_cut_off) {
  IoThread io;
  FrameServer::Options so;
  so.max_frame_bytes = 64;
  Inbox seen;
  auto server = FrameServer::start(io.context(), so, [&](std::string f) {
    seen.push(f);
    return std::vector<FrameServer::Outbound>{};
  });
  BOOST_REQUIRE(server.ok());
  ConnectionOptions options;
  options.port = (*server)->port();
  Connection client(io.context(), options, {});
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return client.up(); }));
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return (*server)->connections() == 1; }));
  BOOST_REQUIRE(client.send(std::string(65, 'z')));  // one byte over the server's limit
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return (*server)->connections() == 0 || !client.up(); }));
  BOOST_CHECK_EQUAL(seen.size(), 0u);
}

BOOST_AUTO_TEST_CASE(the_write_queue_is_bounded) {
  IoThread io;
  // A peer that accepts and never reads: once the kernel's buffers are full,
  // at most max_write_queue frames wait in the client; the rest are refused
  // at once instead of piling up in memory.
  boost::asio::io_context peer_io;
  boost::asio::ip::tcp::acceptor acceptor(peer_io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket held(peer_io);
  std::thread peer([&] { acceptor.accept(held); });
  ConnectionOptions options;
  options.port = acceptor.local_endpoint().port();
  options.max_write_queue = 8;
  Connection client(io.context(), options, {});
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return client.up(); }));
  peer.join();
  const std::string big(64 * 1024, 'q');
  int accepted = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < 10'000 && std::chrono::steady_clock::now() < until; ++i) {
    accepted += client.send(big) ? 1 : 0;
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // 10,000 x 64 KiB is 640 MiB; loopback buffers hold a few MiB at most.
  BOOST_TEST_MESSAGE("accepted " << accepted << " of 10000 frames of 64 KiB");
  BOOST_CHECK_GE(accepted, 8);
  BOOST_CHECK_LT(accepted, 1'000);
}

BOOST_AUTO_TEST_CASE(connection_refused_is_retried_until_the_server_exists) {
  IoThread io;
  // Find a free port, then close it again.
  uint16_t port;
  {
    auto probe = FrameServer::start(io.context(), {}, [](std::string) { return std::vector<FrameServer::Outbound>{}; });
    BOOST_REQUIRE(probe.ok());
    port = (*probe)->port();
  }
  ConnectionOptions options;
  options.port = port;
  options.reconnect_max_ms = 50;
  Connection client(io.context(), options, {});
  std::this_thread::yield();
  BOOST_CHECK(!client.up());
  BOOST_CHECK(!client.send("nobody there"));
  FrameServer::Options so;
  so.port = port;
  auto server = FrameServer::start(io.context(), so, [](std::string) { return std::vector<FrameServer::Outbound>{}; });
  BOOST_REQUIRE(server.ok());
  BOOST_REQUIRE(payengine::testing::wait_until([&] { return client.up(); }));
}
