"""Embed RPC through the binding: unary and server-streaming calls.

The services are served (a) by a responder written here at the NATS level
(docs/rpc.md: a unary reply is the response's bytes, a failure the status
headers; a server stream is accept/data/end frames), and (b) by the RPC
tests' C++ peer (tests/integration/rpc_test_peer.cc, $EMBED_RPC_TEST_PEER),
which serves svc.v1.Peer (Echo: unary; Forever: a stream that never ends).
"""

import itertools
import os
import subprocess
import threading
import unittest

import embed
from embed import pb
from support import Collector, hub_app


class NatsLevelHost:
    """Serves py.v1.Echo (unary: Say echoes, others UNIMPLEMENTED) and py.v1.Count
    (server streaming: Up sends int(request) messages; Fail sends one then NOT_FOUND)."""

    def __init__(self, app):
        self.app = app
        self._inboxes = itertools.count(1)
        app.subscribe("py.v1.Echo.*", self._on_unary)
        app.subscribe("py.v1.Count.*", self._on_stream_open)
        app.subscribe("_INBOX.pyhost.*", lambda message: None)  # credit / keepalive frames
        app.flush()

    def _on_unary(self, message):
        if message.subject == "py.v1.Echo.Say":
            self.app.publish(message.reply_to, message.payload)
        else:
            self.app.publish(message.reply_to, b"", headers=[
                ("Nats-Service-Error", "no method " + message.subject),
                ("Nats-Service-Error-Code", str(pb.UNIMPLEMENTED))])

    def _on_stream_open(self, message):
        headers = {header.name: header.value for header in message.headers}
        if headers.get("Embed-Rpc") != "open":
            return
        caller = message.reply_to
        inbox = "_INBOX.pyhost.%d" % next(self._inboxes)
        self.app.publish(caller, b"", reply_to=inbox,
                         headers=[("Embed-Rpc", "accept"), ("Embed-Window", "0")])
        fail = message.subject.endswith(".Fail")
        count = 1 if fail else int(message.payload or b"0")
        for index in range(count):
            self.app.publish(caller, b"n%d" % index, reply_to=inbox,
                             headers=[("Embed-Rpc", "data"), ("Embed-Seq", str(index + 1))])
        end = [("Embed-Rpc", "end"), ("Embed-Seq", str(count))]
        if fail:
            end += [("Nats-Service-Error", "gone"), ("Nats-Service-Error-Code", str(pb.NOT_FOUND))]
        self.app.publish(caller, b"", reply_to=inbox, headers=end)


class RpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host_app, cls.hub = hub_app()
        cls.host = NatsLevelHost(cls.host_app)
        cls.app = embed.Embed()
        cls.app.connect(cls.hub.url)

    @classmethod
    def tearDownClass(cls):
        cls.app.close()
        cls.host_app.close()

    def test_unary_bytes(self):
        self.assertEqual(self.app.rpc("py.v1.Echo.Say", b"\x0a\x02hi"), b"\x0a\x02hi")

    def test_unary_messages(self):
        request = pb.Header(name="n", value="v")
        reply = self.app.rpc("py.v1.Echo.Say", request, pb.Header, timeout_ms=3000)
        self.assertEqual(reply, request)

    def test_unknown_method_is_unimplemented(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.app.rpc("py.v1.Echo.Shout", b"")
        self.assertEqual(raised.exception.code, embed.StatusCode.UNIMPLEMENTED)
        self.assertIn("Shout", raised.exception.message)

    def test_no_responders_is_unavailable(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.app.rpc("nobody.v1.Nobody.Call", b"", timeout_ms=2000)
        self.assertEqual(raised.exception.code_name, "UNAVAILABLE")

    def test_server_stream_iterated(self):
        stream = self.app.rpc_stream("py.v1.Count.Up", b"5")
        self.assertEqual(list(stream), [b"n%d" % i for i in range(5)])
        self.assertEqual(stream.result(5).messages, 5)

    def test_server_stream_to_a_handler_on_the_library_thread(self):
        received = Collector()
        stream = self.app.rpc_stream("py.v1.Count.Up", b"3", received)
        self.assertEqual(stream.result(5).messages, 3)
        # The Response comes last: every message was delivered before it.
        self.assertEqual(received.items, [b"n0", b"n1", b"n2"])
        self.assertNotIn(threading.get_ident(), received.thread_ids)

    def test_server_stream_failure(self):
        stream = self.app.rpc_stream("py.v1.Count.Fail", b"")
        with self.assertRaises(embed.EmbedError) as raised:
            list(stream)
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")
        self.assertEqual(stream.response.status.code, pb.NOT_FOUND)


@unittest.skipUnless(os.environ.get("EMBED_RPC_TEST_PEER"), "EMBED_RPC_TEST_PEER is not set")
class RpcTestPeerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app, hub = hub_app()
        cls.peer = subprocess.Popen([os.environ["EMBED_RPC_TEST_PEER"], hub.url],
                                    stdout=subprocess.PIPE, text=True)
        line = cls.peer.stdout.readline()
        if line.strip() != "ready":
            cls.peer.kill()
            cls.peer.wait()
            raise AssertionError("rpc_test_peer did not start: %r" % line)

    @classmethod
    def tearDownClass(cls):
        cls.peer.kill()
        cls.peer.wait()
        cls.peer.stdout.close()
        cls.app.close()

    def test_unary_echo(self):
        self.assertEqual(self.app.rpc("svc.v1.Peer.Echo", b"abc", timeout_ms=5000), b"abc")

    def test_unknown_method_of_a_served_service(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.app.rpc("svc.v1.Peer.Missing", b"", timeout_ms=5000)
        self.assertEqual(raised.exception.code_name, "UNIMPLEMENTED")

    def test_server_stream_cancelled(self):
        stream = self.app.rpc_stream("svc.v1.Peer.Forever", b"")
        ticks = []
        for message in stream:
            ticks.append(message)
            if len(ticks) == 5:
                stream.cancel()
                break
        self.assertEqual(ticks, [b"tick"] * 5)
        with self.assertRaises(embed.EmbedError) as raised:
            stream.result(10)
        self.assertEqual(raised.exception.code_name, "CANCELLED")
        list(stream)  # the rest drains without raising: the caller cancelled

    def test_server_stream_with_a_handler(self):
        received = Collector()
        stream = self.app.rpc_stream("svc.v1.Peer.Forever", b"", received)
        received.wait(3)
        stream.cancel()
        with self.assertRaises(embed.EmbedError):
            stream.result(10)
        self.assertNotIn(threading.get_ident(), received.thread_ids)


if __name__ == "__main__":
    unittest.main()
