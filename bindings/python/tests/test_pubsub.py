"""Publish/subscribe and request/reply through the binding, with the in-process hub."""

import threading
import unittest

import embed
from embed import pb
from support import Collector, hub_app, wait_for


class PubSubTest(unittest.TestCase):
    def setUp(self):
        self.app, self.hub = hub_app()
        self.addCleanup(self.app.close)

    def test_hub_urls(self):
        self.assertTrue(self.hub.url.startswith("nats://"), self.hub.url)
        self.assertTrue(self.hub.in_process_url.startswith("inproc://"), self.hub.in_process_url)

    def test_messages_reach_the_handler_in_order_on_the_library_thread(self):
        received = Collector()
        self.app.subscribe("py.>", received)
        for index in range(20):
            self.app.publish("py.n", b"m%d" % index, headers={"Trace": str(index)})
        self.app.publish("other", b"not for us")
        messages = received.wait(20)
        self.assertEqual([m.payload for m in messages], [b"m%d" % i for i in range(20)])
        self.assertEqual(messages[0].subject, "py.n")
        self.assertEqual([(h.name, h.value) for h in messages[3].headers], [("Trace", "3")])
        # Events come from a thread of the library, never this one.
        self.assertNotIn(threading.get_ident(), received.thread_ids)
        self.assertEqual(received.thread_ids, {self.app.event_thread_id})

    def test_payloads_may_be_str_or_protobuf_messages(self):
        subscription = self.app.subscribe("py.kinds")
        self.app.publish("py.kinds", "text")
        self.app.publish("py.kinds", pb.Status(code=pb.NOT_FOUND, message="x"))
        self.assertEqual(subscription.next(5).payload, b"text")
        status = pb.Status.FromString(subscription.next(5).payload)
        self.assertEqual((status.code, status.message), (pb.NOT_FOUND, "x"))

    def test_unsubscribe_ends_the_subscription(self):
        subscription = self.app.subscribe("py.once")
        self.app.publish("py.once", b"1")
        self.assertEqual(subscription.next(5).payload, b"1")
        subscription.unsubscribe()
        self.app.publish("py.once", b"2")
        self.app.flush()
        self.assertIsNone(subscription.next(1))  # ended, nothing after
        self.assertTrue(subscription.ended)
        subscription.unsubscribe()  # idempotent

    def test_max_messages_ends_by_itself(self):
        subscription = self.app.subscribe("py.max", max_messages=2)
        for index in range(3):
            self.app.publish("py.max", b"%d" % index)
        self.assertEqual([m.payload for m in subscription], [b"0", b"1"])

    def test_queue_group_shares_messages(self):
        first, second = Collector(), Collector()
        self.app.subscribe("py.work", first, queue_group="workers")
        self.app.subscribe("py.work", second, queue_group="workers")
        for index in range(10):
            self.app.publish("py.work", b"%d" % index)
        wait_for(lambda: len(first.items) + len(second.items) == 10, what="10 messages")
        self.app.flush()
        self.assertEqual(len(first.items) + len(second.items), 10)

    def test_call_async_completes_a_future(self):
        future = self.app.call_async(pb.Request(flush=pb.FlushRequest()))
        response = future.result(5)
        self.assertEqual(response.status.code, pb.OK)

    def test_ids_are_unique_across_threads(self):
        ids = []
        lock = threading.Lock()

        def take():
            mine = [self.app.next_id() for _ in range(1000)]
            with lock:
                ids.extend(mine)

        threads = [threading.Thread(target=take) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(set(ids)), 4000)
        self.assertNotIn(0, ids)


class PollModeTest(unittest.TestCase):
    def test_poll_runs_handlers_on_the_polling_thread(self):
        app, _ = hub_app(events="poll")
        self.addCleanup(app.close)
        first = app.poll(5)  # connect's connection-state event (it may follow the response)
        self.assertEqual(first.WhichOneof("event"), "connection_state")
        self.assertEqual(first.connection_state.state, pb.CONNECTION_STATE_CONNECTED)
        self.assertIsNone(app.poll(0))
        received = Collector()
        subscription = app.subscribe("poll.x", received)
        app.publish("poll.x", b"a")
        app.publish("poll.x", b"b")
        events = []
        while len(received.items) < 2:
            event = app.poll(5)
            self.assertIsNotNone(event, "no event within 5 s")
            events.append(event)
        self.assertEqual([m.payload for m in received.items], [b"a", b"b"])
        self.assertEqual(received.thread_ids, {threading.get_ident()})
        message_events = [e for e in events if e.WhichOneof("event") == "message"]
        self.assertEqual([e.message.subscription_id for e in message_events], [subscription.id] * 2)

    def test_switching_modes(self):
        app, _ = hub_app(events="poll")
        self.addCleanup(app.close)
        received = Collector()
        app.subscribe("switch.x", received)
        app.use_callback()
        with self.assertRaises(embed.EmbedError) as raised:
            app.poll(0)
        self.assertEqual(raised.exception.code_name, "FAILED_PRECONDITION")
        app.publish("switch.x", b"1")
        received.wait(1)
        self.assertNotIn(threading.get_ident(), received.thread_ids)
        app.use_poll()
        app.publish("switch.x", b"2")
        wait_for(lambda: app.poll(0.1) is not None and len(received.items) == 2, what="poll")
        self.assertEqual(received.items[1].payload, b"2")


class RequestReplyTest(unittest.TestCase):
    def test_request_is_answered_by_another_handle(self):
        server, hub = hub_app()
        self.addCleanup(server.close)

        def reply(message):  # runs on server's event thread; publish may be called there
            server.publish(message.reply_to, b"pong:" + message.payload)

        server.subscribe("time.now", reply)
        server.flush()
        with embed.Embed() as client:
            client.connect(hub.url)
            answer = client.request("time.now", b"ping", timeout_ms=3000)
            self.assertEqual(answer.payload, b"pong:ping")
            with self.assertRaises(embed.EmbedError) as raised:
                client.request("nobody.here", b"", timeout_ms=500)
            self.assertIn(raised.exception.code_name, ("UNAVAILABLE", "DEADLINE_EXCEEDED"))

    def test_requests_from_many_threads(self):
        app, _ = hub_app()
        self.addCleanup(app.close)
        app.subscribe("echo", lambda message: app.publish(message.reply_to, message.payload))
        results = {}

        def ask(index):
            results[index] = app.request("echo", b"%d" % index, timeout_ms=5000).payload

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(results, {i: b"%d" % i for i in range(8)})


if __name__ == "__main__":
    unittest.main()
