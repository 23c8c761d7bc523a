"""The local database through the binding: operations, indexes, migrations, watches."""

import os
import tempfile
import threading
import unittest

import embed
from embed import pb
from support import Collector, wait_for

# Rows are pb.Status messages: field 1 `code` (enum), field 2 `message` (string).
MIGRATIONS = [
    embed.migration(1, embed.create_table("notes", embed.index("by_code", [1], "enum"))),
    embed.migration(2, pb.SchemaChange(create_index=pb.SchemaChange.CreateIndex(
        table="notes", index=embed.index("by_text", [2], "string")))),
]


def note(code, text):
    return pb.Status(code=code, message=text)


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.app = embed.Embed()
        self.addCleanup(self.app.close)
        self.store = self.app.open_store(":memory:")
        self.assertEqual(self.store.migrate(MIGRATIONS), 2)

    def test_put_get_delete(self):
        self.store.put("notes", b"a", note(5, "five"))
        self.store.put("notes", "b", note(7, "seven").SerializeToString())
        self.assertEqual(self.store.get("notes", b"a", pb.Status), note(5, "five"))
        self.assertEqual(self.store.get("notes", "b"), note(7, "seven").SerializeToString())
        self.assertIsNone(self.store.get("notes", b"zz"))
        self.assertTrue(self.store.delete("notes", b"a"))
        self.assertFalse(self.store.delete("notes", b"a"))
        self.assertIsNone(self.store.get("notes", b"a"))

    def test_scan_ranges_prefixes_limit_and_order(self):
        for key in (b"a1", b"a2", b"a3", b"b1"):
            self.store.put("notes", key, note(1, key.decode()))
        keys = lambda rows: [key for key, _ in rows]
        self.assertEqual(keys(self.store.scan("notes")), [b"a1", b"a2", b"a3", b"b1"])
        self.assertEqual(keys(self.store.scan("notes", prefix=b"a")), [b"a1", b"a2", b"a3"])
        self.assertEqual(keys(self.store.scan("notes", start=b"a2", end=b"b1")), [b"a2", b"a3"])
        self.assertEqual(keys(self.store.scan("notes", limit=2, reverse=True)), [b"b1", b"a3"])
        rows = self.store.scan("notes", prefix=b"b", message_type=pb.Status)
        self.assertEqual(rows, [(b"b1", note(1, "b1"))])

    def test_field_index_resolves_dotted_names_through_the_descriptor(self):
        spec = embed.field_index("by_status_code", pb.Response, "status.code")
        self.assertEqual(list(spec.field_path), [2, 1])
        self.assertEqual(spec.type, pb.FIELD_TYPE_ENUM)
        self.assertEqual(embed.field_index("by_id", pb.Response, "id").type, pb.FIELD_TYPE_UINT64)
        with self.assertRaises(ValueError):
            embed.field_index("x", pb.Response, "status.nope")
        with self.assertRaises(ValueError):
            embed.field_index("x", pb.Message, "headers")  # repeated
        self.store.migrate([embed.migration(3, embed.create_table(
            "responses", embed.field_index("by_status_code", pb.Response, "status.code")))])
        self.store.put("responses", b"r1", pb.Response(id=1, status=pb.Status(code=5)))
        self.store.put("responses", b"r2", pb.Response(id=2))
        rows = self.store.query("responses", "by_status_code", equals=5, message_type=pb.Response)
        self.assertEqual([key for key, _ in rows], [b"r1"])
        # An absent field indexes as its default (OK = 0).
        rows = self.store.query("responses", "by_status_code", equals=0)
        self.assertEqual([key for key, _ in rows], [b"r2"])

    def test_index_queries(self):
        self.store.write([("put", "notes", b"k%d" % code, note(code, "t%d" % code))
                          for code in range(1, 8)])
        keys = lambda rows: [key for key, _ in rows]
        self.assertEqual(keys(self.store.query("notes", "by_code", equals=3)), [b"k3"])
        self.assertEqual(keys(self.store.query("notes", "by_code", lower=2, upper=5,
                                               upper_exclusive=True)), [b"k2", b"k3", b"k4"])
        self.assertEqual(keys(self.store.query("notes", "by_code", lower=5, reverse=True,
                                               limit=2)), [b"k7", b"k6"])
        self.assertEqual(keys(self.store.query("notes", "by_text", equals="t6")), [b"k6"])

    def test_write_is_all_or_nothing(self):
        self.store.put("notes", b"keep", note(1, "x"))
        with self.assertRaises(embed.EmbedError) as raised:
            self.store.write([("delete", "notes", b"keep"),
                              ("put", "notes", b"new", note(2, "y")),
                              ("put", "undeclared", b"k", note(3, "z"))])
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")
        self.assertIsNotNone(self.store.get("notes", b"keep"))
        self.assertIsNone(self.store.get("notes", b"new"))

    def test_errors(self):
        with self.assertRaises(embed.EmbedError) as raised:
            self.store.put("undeclared", b"k", b"")
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")
        with self.assertRaises(embed.EmbedError) as raised:
            self.store.put("notes", b"k", b"\xff\xff\xff")  # not protobuf wire format
        self.assertEqual(raised.exception.code_name, "INVALID_ARGUMENT")
        with self.assertRaises(embed.EmbedError) as raised:
            self.store.query("notes", "no_such_index", equals=1)
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")
        # An unknown database id, through a raw request.
        response = self.app.call(pb.Request(id=self.app.next_id(), store_get=pb.StoreGetRequest(
            store=987654, table="notes", key=b"k")))
        self.assertEqual(response.status.code, pb.NOT_FOUND)
        self.store.close()
        with self.assertRaises(embed.EmbedError) as raised:
            self.store.get("notes", b"k")
        self.assertEqual(raised.exception.code_name, "NOT_FOUND")

    def test_migrations_persist_in_a_file(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "app.db")
            with self.app.open_store(path, synchronous="full") as store:
                self.assertEqual(store.schema_version, 0)
                self.assertEqual(store.migrate(MIGRATIONS[:1]), 1)
                store.put("notes", b"k", note(1, "kept"))
            with self.app.open_store(path) as store:
                self.assertEqual(store.schema_version, 1)
                self.assertEqual(store.migrate(MIGRATIONS), 2)  # runs only version 2
                self.assertEqual(store.get("notes", b"k", pb.Status), note(1, "kept"))
                self.assertEqual([k for k, _ in store.query("notes", "by_text", equals="kept")],
                                 [b"k"])


class WatchTest(unittest.TestCase):
    def test_changes_reach_the_handler_on_the_library_thread(self):
        with embed.Embed() as app:
            store = app.open_store()
            store.migrate(MIGRATIONS)
            changes = Collector()
            store.watch("notes", changes, include_old_value=True)
            store.put("notes", b"k", note(1, "one"))
            store.put("notes", b"k", note(2, "two"))
            store.delete("notes", b"k")
            # A batch that fails rolls back: its changes are never delivered.
            with self.assertRaises(embed.EmbedError):
                store.write([("put", "notes", b"rolled", note(3, "back")),
                             ("put", "undeclared", b"k", b"")])
            store.write([("put", "notes", b"k2", note(4, "four")), ("delete", "notes", b"k2")])
            got = changes.wait(5)
            ops = [(c.key, c.op) for c in got]
            self.assertEqual(ops, [(b"k", pb.CHANGE_OP_INSERT), (b"k", pb.CHANGE_OP_UPDATE),
                                   (b"k", pb.CHANGE_OP_DELETE), (b"k2", pb.CHANGE_OP_INSERT),
                                   (b"k2", pb.CHANGE_OP_DELETE)])
            self.assertEqual(pb.Status.FromString(got[1].new_value), note(2, "two"))
            self.assertTrue(got[1].has_old_value)
            self.assertEqual(pb.Status.FromString(got[1].old_value), note(1, "one"))
            self.assertEqual(pb.Status.FromString(got[2].old_value), note(2, "two"))
            self.assertFalse(got[0].has_old_value)
            self.assertTrue(all(c.table == "notes" for c in got))
            sequences = [c.sequence for c in got]
            self.assertEqual(sequences, sorted(set(sequences)))
            self.assertEqual(len(changes.items), 5)  # nothing from the rolled-back batch
            self.assertNotIn(threading.get_ident(), changes.thread_ids)

    def test_key_prefix_old_values_off_and_unwatch(self):
        with embed.Embed() as app:
            store = app.open_store()
            store.migrate(MIGRATIONS)
            watch = store.watch("notes", key_prefix=b"user/")
            store.put("notes", b"other/1", note(1, "x"))
            store.put("notes", b"user/1", note(1, "a"))
            store.put("notes", b"user/1", note(1, "b"))
            first = watch.next(5)
            self.assertEqual((first.key, first.op), (b"user/1", pb.CHANGE_OP_INSERT))
            second = watch.next(5)
            self.assertEqual(second.op, pb.CHANGE_OP_UPDATE)
            self.assertFalse(second.has_old_value)
            watch.unwatch()
            store.put("notes", b"user/2", note(1, "c"))
            self.assertIsNone(watch.next(0.5))

    def test_watch_in_poll_mode(self):
        app = embed.Embed(events="poll")
        self.addCleanup(app.close)
        store = app.open_store()
        store.migrate(MIGRATIONS)
        changes = Collector()
        watch = store.watch("notes", changes)
        store.put("notes", b"p", note(1, "polled"))
        wait_for(lambda: app.poll(0.1) is not None and len(changes.items) == 1, what="a change")
        self.assertEqual(changes.items[0].watch_id, watch.id)
        self.assertEqual(changes.thread_ids, {threading.get_ident()})

    def test_store_close_ends_its_watches(self):
        with embed.Embed() as app:
            store = app.open_store()
            store.migrate(MIGRATIONS)
            watch = store.watch("notes")
            store.close()
            self.assertTrue(watch.ended)
            self.assertIsNone(watch.next(0.1))


if __name__ == "__main__":
    unittest.main()
