"""Store: a local database opened through an Embed handle (tables of protobuf messages).

    store = app.open_store("app.db")
    store.migrate([embed.migration(1, embed.create_table(
        "users", embed.index("by_age", [3], "int32")))])
    store.put("users", b"u1", user)                    # a protobuf message or its bytes
    watch = store.watch("users", on_change, include_old_value=True)
    rows = store.scan("users", prefix=b"u", message_type=User)
"""

from ._events import Sink
from .client import as_bytes, parse, pb
from .errors import EmbedError, StatusCode


def _key(key):
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def index(name, field_path, field_type):
    """An IndexSpec: field_type is a pb.FIELD_TYPE_* value or its suffix ("int64", "string")."""
    if isinstance(field_type, str):
        field_type = pb.FieldType.Value("FIELD_TYPE_" + field_type.upper())
    return pb.IndexSpec(name=name, field_path=list(field_path), type=field_type)


def field_index(name, message_type, field):
    """An IndexSpec on a field named by its dotted path in `message_type` (a generated
    protobuf class or its DESCRIPTOR): field_index("by_city", User, "address.city")."""
    from google.protobuf.descriptor import FieldDescriptor
    descriptor = getattr(message_type, "DESCRIPTOR", message_type)
    path = []
    parts = field.split(".")
    for position, part in enumerate(parts):
        found = descriptor.fields_by_name.get(part)
        if found is None:
            raise ValueError("%s has no field %r" % (descriptor.full_name, part))
        if found.label == FieldDescriptor.LABEL_REPEATED:
            raise ValueError("%s.%s is repeated: only singular fields are indexed"
                             % (descriptor.full_name, part))
        path.append(found.number)
        if position + 1 < len(parts):
            if found.type != FieldDescriptor.TYPE_MESSAGE:
                raise ValueError("%s.%s is not a message" % (descriptor.full_name, part))
            descriptor = found.message_type
    if found.type not in _INDEXABLE:
        raise ValueError("%s.%s (%s) cannot be indexed" % (descriptor.full_name, parts[-1],
                                                          found.type))
    return index(name, path, _INDEXABLE[found.type])


def _indexable_types():
    from google.protobuf.descriptor import FieldDescriptor as F
    return {
        F.TYPE_INT64: "int64", F.TYPE_UINT64: "uint64", F.TYPE_INT32: "int32",
        F.TYPE_UINT32: "uint32", F.TYPE_SINT64: "sint64", F.TYPE_SINT32: "sint32",
        F.TYPE_FIXED64: "fixed64", F.TYPE_FIXED32: "fixed32", F.TYPE_SFIXED64: "sfixed64",
        F.TYPE_SFIXED32: "sfixed32", F.TYPE_BOOL: "bool", F.TYPE_ENUM: "enum",
        F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_STRING: "string",
        F.TYPE_BYTES: "bytes",
    }


_INDEXABLE = _indexable_types()


def create_table(name, *indexes):
    """A SchemaChange creating table `name` with IndexSpecs."""
    return pb.SchemaChange(create_table=pb.TableSpec(name=name, indexes=list(indexes)))


def migration(version, *changes):
    """A Migration to `version` made of SchemaChanges."""
    return pb.Migration(version=version, changes=list(changes))


def index_value(value):
    """An IndexValue: bool and int (int64 range) as int_value, larger int as uint_value,
    float as double_value, str as string_value, bytes as bytes_value."""
    if value is None or isinstance(value, pb.IndexValue):
        return value
    if isinstance(value, bool):
        return pb.IndexValue(int_value=int(value))
    if isinstance(value, int):
        if value >= 2**63:
            return pb.IndexValue(uint_value=value)
        return pb.IndexValue(int_value=value)
    if isinstance(value, float):
        return pb.IndexValue(double_value=value)
    if isinstance(value, str):
        return pb.IndexValue(string_value=value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return pb.IndexValue(bytes_value=bytes(value))
    raise TypeError("cannot index a %s" % type(value).__name__)


class Watch(Sink):
    """A watch on a table: its ChangeEvents go to its handler or its queue."""

    def __init__(self, store, watch_id, table, handler):
        super().__init__(handler)
        self.id = watch_id
        self.table = table
        self._store = store

    def unwatch(self):
        """Stops the watch (no-op when it already ended)."""
        if self.ended:
            return
        embed = self._store._embed
        try:
            embed._run(pb.Request(store_unwatch=pb.StoreUnwatchRequest(watch_id=self.id)))
        except EmbedError as error:
            if error.code != StatusCode.NOT_FOUND:
                raise
        finally:
            embed._dispatcher.remove(self.id, self)
            self._store._watches.pop(self.id, None)
            self._end()

    def _on_event(self, kind, event):
        if kind != "change":
            return False
        self._deliver(event.change)
        return True


class Store:
    """A database of an Embed handle; `id` names it in store requests.

    Keys are bytes (str is encoded as UTF-8); values are protobuf messages or
    their bytes. Reads return bytes, or messages when given `message_type`.
    Every method raises EmbedError with the operation's status.
    """

    def __init__(self, embed, store_id, schema_version):
        self.id = store_id
        self.schema_version = schema_version
        self._embed = embed
        self._watches = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _run(self, **op):
        return self._embed._run(pb.Request(**op))

    def close(self):
        """Closes the database; its watches end."""
        try:
            self._run(store_close=pb.StoreCloseRequest(store=self.id))
        finally:
            for watch in list(self._watches.values()):
                self._embed._dispatcher.remove(watch.id, watch)
                watch._end()
            self._watches.clear()

    def migrate(self, migrations):
        """Applies the Migrations above the database's version; returns the new version."""
        response = self._run(store_migrate=pb.StoreMigrateRequest(
            store=self.id, migrations=list(migrations)))
        self.schema_version = response.store_migrate.schema_version
        return self.schema_version

    def put(self, table, key, value):
        self._run(store_put=pb.StorePutRequest(store=self.id, table=table, key=_key(key),
                                               value=as_bytes(value)))

    def get(self, table, key, message_type=None):
        """The value of key, or None when absent."""
        response = self._run(store_get=pb.StoreGetRequest(store=self.id, table=table,
                                                          key=_key(key)))
        if not response.store_get.found:
            return None
        return parse(response.store_get.value, message_type)

    def delete(self, table, key):
        """Deletes key; returns whether it was there."""
        response = self._run(store_delete=pb.StoreDeleteRequest(store=self.id, table=table,
                                                                key=_key(key)))
        return response.store_delete.found

    def write(self, writes):
        """Writes all or nothing, in one transaction.

        writes: pb.StoreWrite messages, or tuples ("put", table, key, value)
        and ("delete", table, key).
        """
        messages = []
        for write in writes:
            if isinstance(write, pb.StoreWrite):
                messages.append(write)
            elif write[0] == "put":
                _, table, key, value = write
                messages.append(pb.StoreWrite(table=table, key=_key(key), put=as_bytes(value)))
            elif write[0] == "delete":
                _, table, key = write
                messages.append(pb.StoreWrite(table=table, key=_key(key), delete=True))
            else:
                raise ValueError("unknown write %r" % (write[0],))
        self._run(store_write=pb.StoreWriteRequest(store=self.id, writes=messages))

    def scan(self, table, *, start=b"", end=b"", prefix=b"", limit=0, reverse=False,
             message_type=None):
        """[(key, value)] in key order within [start, end) and with prefix."""
        response = self._run(store_scan=pb.StoreScanRequest(
            store=self.id, table=table, start=_key(start), end=_key(end), prefix=_key(prefix),
            limit=limit, reverse=reverse))
        return [(row.key, parse(row.value, message_type)) for row in response.store_scan.rows]

    def query(self, table, index_name, *, equals=None, lower=None, upper=None,
              lower_exclusive=False, upper_exclusive=False, limit=0, reverse=False,
              message_type=None):
        """[(key, value)] whose indexed field equals `equals` or lies within the bounds.

        Values are IndexValues or Python values (see index_value()).
        """
        request = pb.StoreQueryRequest(store=self.id, table=table, index=index_name,
                                       lower_exclusive=lower_exclusive,
                                       upper_exclusive=upper_exclusive, limit=limit,
                                       reverse=reverse)
        for field, value in (("equals", equals), ("lower", lower), ("upper", upper)):
            value = index_value(value)
            if value is not None:
                getattr(request, field).CopyFrom(value)
        response = self._run(store_query=request)
        return [(row.key, parse(row.value, message_type)) for row in response.store_query.rows]

    def watch(self, table, handler=None, *, key_prefix=b"", include_old_value=False):
        """Watches committed changes of table (keys with key_prefix); returns a Watch.

        handler(change) gets each embed.v1.ChangeEvent, in commit order.
        """
        request = pb.Request(store_watch=pb.StoreWatchRequest(
            store=self.id, table=table, key_prefix=_key(key_prefix),
            include_old_value=include_old_value))
        watch, _ = self._embed._open(request,
                                     lambda watch_id: Watch(self, watch_id, table, handler))
        self._watches[watch.id] = watch
        return watch
