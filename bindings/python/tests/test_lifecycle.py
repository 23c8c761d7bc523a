"""Opening, closing and the error paths of the binding."""

import gc
import threading
import unittest
import weakref

import embed
from embed import pb
from support import Collector, hub_app, wait_for


class ErrorTest(unittest.TestCase):
    def setUp(self):
        self.app = embed.Embed()
        self.addCleanup(self.app.close)

    def test_version(self):
        self.assertRegex(embed.version(), r"^\d+\.\d+\.\d+$")
        self.assertEqual(self.app.version, embed.version())

    def test_bad_request_bytes(self):
        for data in (b"\xff\xff\xff\xff\x0f", b"\x0a"):
            with self.assertRaises(embed.EmbedError) as raised:
                self.app.call(data)
            self.assertEqual(raised.exception.code, embed.StatusCode.INVALID_ARGUMENT)
            self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")
            self.assertTrue(raised.exception.message)
            with self.assertRaises(embed.EmbedError) as raised:
                self.app.call_async(data)
            self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")

    def test_request_without_operation_or_id(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.app.call(pb.Request(id=5))
        self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")
        with self.assertRaises(embed.EmbedError) as raised:  # async needs an id
            self.app.call_async(pb.Request(flush=pb.FlushRequest()).SerializeToString())
        self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")

    def test_bad_config(self):
        with self.assertRaises(embed.EmbedError) as raised:
            embed.Embed(config=b"\xff\xff\xff")
        self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")
        with embed.Embed(config=pb.Config(name="named", event_queue_max_bytes=1 << 20)):
            pass

    def test_not_connected(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.app.publish("x", b"")
        self.assertNotEqual(raised.exception.code, embed.StatusCode.OK)

    def test_missing_library(self):
        with self.assertRaises(embed.EmbedError) as raised:
            embed.Embed(library="/nonexistent/libembed.so")
        self.assertIn("/nonexistent/libembed.so", str(raised.exception))

    def test_error_text(self):
        error = embed.EmbedError(embed.StatusCode.NOT_FOUND, "no table")
        self.assertEqual(str(error), "NOT_FOUND: no table")
        self.assertEqual(embed.EmbedError(99).code_name, "CODE_99")


class CloseTest(unittest.TestCase):
    def test_calls_after_close_fail(self):
        app = embed.Embed(events="poll")
        app.start_hub()
        app.connect(use_hub=True)
        app.close()
        app.close()  # idempotent
        self.assertTrue(app.closed)
        for call in (lambda: app.publish("x", b""), lambda: app.open_store(),
                     lambda: app.call(pb.Request(flush=pb.FlushRequest()))):
            with self.assertRaises(embed.EmbedError) as raised:
                call()
            self.assertEqual(raised.exception.code_name, "FAILED_PRECONDITION")
        with self.assertRaises(embed.EmbedError) as raised:
            app.poll(0)
        self.assertEqual(raised.exception.code_name, "CANCELLED")
        app.free()
        app.free()
        with self.assertRaises(embed.EmbedError) as raised:  # never touches the freed handle
            app.publish("x", b"")
        self.assertEqual(raised.exception.code_name, "FAILED_PRECONDITION")

    def test_close_ends_pending_calls_and_subscriptions(self):
        app, _ = hub_app()
        app.subscribe("silent", lambda message: None)  # never replies
        subscription = app.subscribe("quiet")
        future = app.call_async(pb.Request(request=pb.RequestRequest(
            subject="silent", timeout_ms=30000)))
        app.close()
        try:
            response = future.result(10)
            self.assertEqual(response.status.code, pb.CANCELLED)
        except embed.EmbedError as error:
            self.assertEqual(error.code_name, "CANCELLED")
        self.assertTrue(subscription.ended)
        self.assertIsNone(subscription.next(1))

    def test_close_from_a_handler(self):
        app, _ = hub_app()
        closed_in_handler = threading.Event()

        def close(message):
            app.close()  # on the event thread: handed to another thread
            closed_in_handler.set()

        app.subscribe("close.now", close)
        app.publish("close.now", b"")
        self.assertTrue(closed_in_handler.wait(5))
        wait_for(lambda: app.closed, what="close")
        with self.assertRaises(embed.EmbedError):
            app.publish("x", b"")

    def test_dropped_handle_is_released(self):
        app, _ = hub_app()
        received = Collector()
        app.subscribe("drop.x", received)
        app.publish("drop.x", b"1")
        received.wait(1)
        reference = weakref.ref(app)
        del app
        gc.collect()
        wait_for(lambda: reference() is None, what="the handle to be collected")

    def test_released_from_the_event_thread(self):
        # The last reference goes away inside a handler: the release must not
        # run embed_free on the event thread (it would wait for itself).
        done = threading.Event()
        holder = {}
        app, _ = hub_app()
        holder["app"] = app

        def drop(message):
            holder.pop("app", None)
            gc.collect()
            done.set()

        app.subscribe("drop.in.handler", drop)
        app.publish("drop.in.handler", b"")
        reference = weakref.ref(app)
        del app
        self.assertTrue(done.wait(5))
        gc.collect()
        wait_for(lambda: reference() is None, what="the handle to be collected")

    def test_context_manager(self):
        with embed.Embed() as app:
            store = app.open_store()
        self.assertTrue(app.closed)
        with self.assertRaises(embed.EmbedError):
            store.get("t", b"k")


if __name__ == "__main__":
    unittest.main()
