"""Embed: one handle of the Embed library, driven with embed.v1 protobuf messages.

    with embed.Embed() as app:
        app.start_hub()
        app.connect(use_hub=True)
        subscription = app.subscribe("greet.*", lambda message: print(message.payload))
        app.publish("greet.joe", b"hello")

Thread-safe: every method may be called from any thread. Events go either to
handlers on the library's event thread (events="callback", the default) or to
the thread calling poll() (events="poll").
"""

import concurrent.futures
import ctypes
import itertools
import logging
import threading
import weakref

from . import _library
from ._events import Dispatcher, Sink
from .errors import EmbedError, StatusCode

try:
    from .v1 import bridge_pb2 as pb
except ImportError as _error:  # pragma: no cover - only without the generated code
    raise ImportError("embed.v1.bridge_pb2 is missing: generate it with "
                      "protoc --python_out=<dir> -Iproto proto/embed/v1/bridge.proto "
                      "(the CMake target embed_python does)") from _error

_log = logging.getLogger("embed")


def as_bytes(value):
    """bytes of a payload: bytes-like as is, str as UTF-8, a protobuf message serialized."""
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    serialize = getattr(value, "SerializeToString", None)
    if serialize is None:
        raise TypeError("expected bytes, str or a protobuf message, got %s" % type(value).__name__)
    return serialize()


def parse(data, message_type):
    """`data` parsed as `message_type`, or the bytes themselves when it is None."""
    if message_type is None:
        return data
    message = message_type()
    message.ParseFromString(data)
    return message


def headers_of(headers):
    """[pb.Header] from a dict, a list of (name, value) pairs or of pb.Header."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    result = []
    for item in items:
        if isinstance(item, pb.Header):
            result.append(item)
        else:
            name, value = item
            result.append(pb.Header(name=name, value=value))
    return result


def version(library=None):
    """The library's version, "MAJOR.MINOR.PATCH"."""
    return _library.load(library).embed_version().decode("ascii")


class _Handle:
    """The native handle and the callback object the library may call.

    Kept by a weakref.finalize of the Embed object, so it must not refer to
    it. Closing from the event thread is handed to a new thread, since
    embed_close() waits for the callback to return.
    """

    def __init__(self, lib, handle):
        self.lib = lib
        self.handle = handle
        self.callback = None  # the EVENT_CALLBACK object, alive until release()
        self.callback_thread_id = None
        self.lock = threading.Lock()
        self.closed = False  # embed_close() was called
        self.close_done = threading.Event()  # ... and has returned
        self.freed = False

    def get(self):
        """The native handle; EmbedError(FAILED_PRECONDITION) once it is freed."""
        if self.freed:
            raise EmbedError(StatusCode.FAILED_PRECONDITION, "the handle is freed")
        return self.handle

    def on_event_thread(self):
        return threading.get_ident() == self.callback_thread_id

    def close(self):
        """embed_close(); returns False when it had to be handed to another thread."""
        if self.on_event_thread():
            threading.Thread(target=self.close, name="embed-close", daemon=True).start()
            return False
        with self.lock:
            if self.closed or self.freed:
                return True
            self.closed = True
        self.lib.embed_close(self.handle)
        self.close_done.set()
        return True

    def release(self):
        """Closes and frees the handle (the Embed object is gone or at exit)."""
        if self.on_event_thread():
            threading.Thread(target=self.release, name="embed-release", daemon=True).start()
            return
        with self.lock:
            if self.freed:
                return
            self.freed = True
            self.closed = True
        self.lib.embed_free(self.handle)  # closes first; waits for the callback
        self.close_done.set()
        self.callback = None


def _make_callback(handle_state, dispatcher_ref):
    def on_native_event(user_data, data, length):
        handle_state.callback_thread_id = threading.get_ident()
        try:
            dispatcher = dispatcher_ref()
            if dispatcher is None:
                return
            event = pb.Event.FromString(ctypes.string_at(data, length))
            dispatcher.dispatch(event)
        except BaseException:  # never let an exception into the library's thread
            _log.exception("embed: event callback failed")

    return _library.EVENT_CALLBACK(on_native_event)


class _CallRoute:
    """Completes the Future of an embed_call() with its Response."""

    def __init__(self, dispatcher, call_id):
        self.future = concurrent.futures.Future()
        self._dispatcher = dispatcher
        self._id = call_id

    def _on_event(self, kind, event):
        if kind != "response":
            return False
        self._dispatcher.remove(self._id, self)
        if not self.future.done():
            self.future.set_result(event.response)
        return True

    def _on_close(self):
        if not self.future.done():
            self.future.set_exception(EmbedError(StatusCode.CANCELLED, "the handle is closed"))


class Subscription(Sink):
    """A subscription: its messages (embed.v1.Message) go to its handler or its queue."""

    def __init__(self, embed, subscription_id, subject, handler, max_messages):
        super().__init__(handler)
        self.id = subscription_id
        self.subject = subject
        self._embed = embed
        self._left = max_messages or None

    def unsubscribe(self):
        """Ends the subscription (no-op when it already ended)."""
        if self.ended:
            return
        try:
            self._embed._run(pb.Request(unsubscribe=pb.UnsubscribeRequest(
                subscription_id=self.id)))
        except EmbedError as error:
            if error.code != StatusCode.NOT_FOUND:
                raise
        finally:
            self._embed._dispatcher.remove(self.id, self)
            self._end()

    def _on_event(self, kind, event):
        if kind != "message":
            return False
        self._deliver(event.message.message)
        if self._left is not None:
            self._left -= 1
            if self._left == 0:  # max_messages reached: the library ended it
                self._embed._dispatcher.remove(self.id, self)
                self._end()
        return True


class RpcStream(Sink):
    """A server-streaming call: its messages go to its handler or are iterated.

    Iteration ends after the last message; it raises EmbedError when the call
    failed (not when cancel() ended it).
    """

    def __init__(self, embed, call_id, handler, response_type):
        super().__init__(handler)
        self.id = call_id
        self._embed = embed
        self._response_type = response_type
        self._response = None
        self._cancelled = False

    def cancel(self):
        """Ends the call early; its result's status is then CANCELLED."""
        if self.ended:
            return
        self._cancelled = True
        try:
            self._embed._run(pb.Request(cancel=pb.CancelRequest(call_id=self.id)))
        except EmbedError as error:
            if error.code != StatusCode.NOT_FOUND:  # it ended meanwhile
                raise

    def result(self, timeout=None):
        """Waits for the end of the call: its RpcResponse (messages = count), or EmbedError."""
        if not self._ended.wait(timeout):
            raise EmbedError(StatusCode.DEADLINE_EXCEEDED, "the stream has not ended")
        response = self._response
        if response is None:
            raise EmbedError(StatusCode.CANCELLED, "the handle is closed")
        if response.status.code != StatusCode.OK:
            raise EmbedError.from_status(response.status)
        return response.rpc

    @property
    def response(self):
        """The call's final embed.v1.Response, None while it runs."""
        return self._response

    def _raise_if_failed(self):
        response = self._response
        if response is None:
            raise EmbedError(StatusCode.CANCELLED, "the handle is closed")
        if response.status.code != StatusCode.OK and not (
                self._cancelled and response.status.code == StatusCode.CANCELLED):
            raise EmbedError.from_status(response.status)

    def _on_event(self, kind, event):
        if kind == "rpc_message":
            self._deliver(parse(event.rpc_message.payload, self._response_type))
            return True
        if kind == "response":
            self._response = event.response
            self._embed._dispatcher.remove(self.id, self)
            self._end()
            return True
        return False


class Embed:
    """One handle of the library: a connection, subscriptions, RPC, databases, a hub.

    config: an embed.v1.Config (or its bytes); None = defaults.
    library: the path of libembed; None = $EMBED_LIBRARY, else next to this package.
    events: "callback" (handlers run on the library's event thread) or "poll"
      (events wait for poll(), which runs the handlers on the polling thread).
    on_event: called with each embed.v1.Event that no handler takes (connection
      state, dropped events, responses of call_async() without a Future, ...).
    """

    def __init__(self, config=None, library=None, *, events="callback", on_event=None):
        if events not in ("callback", "poll"):
            raise ValueError("events must be 'callback' or 'poll'")
        lib = _library.load(library)
        config_bytes = as_bytes(config)
        handle = ctypes.c_void_p()
        error = ctypes.c_void_p()
        status = lib.embed_open(config_bytes, len(config_bytes), ctypes.byref(handle),
                                ctypes.byref(error))
        if status != StatusCode.OK:
            raise _library.take_error(lib, status, error)
        self._lib = lib
        self._state = _Handle(lib, handle)
        self._dispatcher = Dispatcher(on_event)
        self._finalizer = weakref.finalize(self, self._state.release)
        self._id_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._mode = "poll"
        if events == "callback":
            self.use_callback()

    # -- lifetime ----------------------------------------------------------

    def close(self):
        """Ends the handle's work (connection, subscriptions, databases, hub).

        Open calls end with CANCELLED; later calls raise EmbedError
        (FAILED_PRECONDITION). Idempotent. Called from a handler on the event
        thread it returns at once and closes from another thread.
        """
        if self._state.on_event_thread():
            threading.Thread(target=self.close, name="embed-close", daemon=True).start()
            return
        if self._state.freed:
            return
        self._state.close()
        if self._mode == "poll":
            self._drain()
        self._dispatcher.close_all()

    def free(self):
        """Closes and releases the native handle now (also done when the object goes away)."""
        self.close()
        self._finalizer()

    @property
    def closed(self):
        """True once close() has finished (from any thread)."""
        return self._state.close_done.is_set()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def version(self):
        """The library's version, "MAJOR.MINOR.PATCH"."""
        return self._lib.embed_version().decode("ascii")

    @property
    def event_thread_id(self):
        """threading.get_ident() of the library's event thread (None before its first event)."""
        return self._state.callback_thread_id

    def next_id(self):
        """A fresh request id (thread-safe; never 0)."""
        with self._id_lock:
            return next(self._ids)

    # -- event delivery ------------------------------------------------------

    def use_callback(self):
        """Delivers events to handlers on the library's event thread from now on."""
        state = self._state
        if state.callback is None:
            state.callback = _make_callback(state, weakref.ref(self._dispatcher))
        self._set_callback(state.callback)
        self._mode = "callback"

    def use_poll(self):
        """Stops the callback: events wait for poll() from now on."""
        self._set_callback(_library.EVENT_CALLBACK())
        self._mode = "poll"

    def _set_callback(self, callback):
        error = ctypes.c_void_p()
        status = self._lib.embed_set_event_callback(self._state.get(), callback, None,
                                                    ctypes.byref(error))
        if status != StatusCode.OK:
            raise _library.take_error(self._lib, status, error)

    def poll(self, timeout=None):
        """Takes the next event (embed.v1.Event), after running its handler.

        timeout: seconds to wait (None = forever, 0 = do not wait). Returns
        None when no event came in time. Raises EmbedError: CANCELLED once the
        handle is closed and its queue empty, FAILED_PRECONDITION in callback
        mode.
        """
        if timeout is None:
            timeout_ms = -1
        else:
            timeout_ms = max(0, min(int(timeout * 1000), 2**31 - 1))
        event = self._poll_raw(timeout_ms)
        if event is not None:
            self._dispatcher.dispatch(event)
        return event

    def _poll_raw(self, timeout_ms):
        data = ctypes.POINTER(ctypes.c_uint8)()
        length = ctypes.c_size_t()
        error = ctypes.c_void_p()
        status = self._lib.embed_poll(self._state.get(), timeout_ms, ctypes.byref(data),
                                      ctypes.byref(length), ctypes.byref(error))
        if status == StatusCode.DEADLINE_EXCEEDED:
            if error.value:
                self._lib.embed_error_free(error)
            return None
        if status != StatusCode.OK:
            raise _library.take_error(self._lib, status, error)
        return pb.Event.FromString(_library.take_bytes(self._lib, data, length))

    def _drain(self):
        """Dispatches the events queued before close (poll mode)."""
        while True:
            try:
                event = self._poll_raw(0)
            except EmbedError:
                return
            if event is None:
                return
            self._dispatcher.dispatch(event)

    # -- calls -----------------------------------------------------------------

    def call(self, request):
        """Runs a Request (message or bytes) and returns its embed.v1.Response.

        The Response may carry a failed status (it is not raised); EmbedError
        is raised when the library refused the request (bad bytes, closed
        handle).
        """
        data = as_bytes(request)
        out = ctypes.POINTER(ctypes.c_uint8)()
        length = ctypes.c_size_t()
        error = ctypes.c_void_p()
        status = self._lib.embed_call_sync(self._state.get(), data, len(data), ctypes.byref(out),
                                           ctypes.byref(length), ctypes.byref(error))
        if status != StatusCode.OK:
            raise _library.take_error(self._lib, status, error)
        return pb.Response.FromString(_library.take_bytes(self._lib, out, length))

    def call_async(self, request):
        """Starts a Request; returns a concurrent.futures.Future of its Response.

        A request message with id 0 gets a fresh id. Request bytes are sent as
        they are; their Response then goes to on_event / poll() (no Future:
        returns None).
        """
        future = None
        if isinstance(request, pb.Request):
            if request.id == 0:
                copy = pb.Request()
                copy.CopyFrom(request)
                copy.id = self.next_id()
                request = copy
            route = _CallRoute(self._dispatcher, request.id)
            self._dispatcher.add(request.id, route)
            future = route.future
            data = request.SerializeToString()
        else:
            data = as_bytes(request)
            route = None
        error = ctypes.c_void_p()
        status = self._lib.embed_call(self._state.get(), data, len(data), ctypes.byref(error))
        if status != StatusCode.OK:
            if route is not None:
                self._dispatcher.remove(request.id, route)
            raise _library.take_error(self._lib, status, error)
        return future

    def _run(self, request):
        """call() that raises the Response's failed status; gives id 0 requests a fresh id."""
        if request.id == 0:
            request.id = self.next_id()
        response = self.call(request)
        if response.status.code != StatusCode.OK:
            raise EmbedError.from_status(response.status)
        return response

    def _open(self, request, route_factory):
        """Runs a request whose id names what it opens, its route registered first."""
        request.id = self.next_id()
        route = route_factory(request.id)
        self._dispatcher.add(request.id, route)
        try:
            response = self._run(request)
        except BaseException:
            self._dispatcher.remove(request.id, route)
            raise
        return route, response

    # -- hub and connection -------------------------------------------------------

    def start_hub(self, host="", port=0, *, websocket=False, websocket_port=0):
        """Starts the in-process hub; returns its HubStartResponse (url, in_process_url...)."""
        return self._run(pb.Request(hub_start=pb.HubStartRequest(
            host=host, port=port, websocket=websocket, websocket_port=websocket_port))).hub_start

    def stop_hub(self):
        self._run(pb.Request(hub_stop=pb.HubStopRequest()))

    def connect(self, urls=(), *, use_hub=False, **options):
        """Connects (urls: one URL or a list; use_hub: this handle's own hub).

        options: other ConnectRequest fields (user, password, token,
        connect_timeout_ms, no_reconnect, ...). Returns the ConnectResponse.
        """
        if isinstance(urls, str):
            urls = [urls]
        request = pb.ConnectRequest(urls=list(urls), use_hub=use_hub, **options)
        return self._run(pb.Request(connect=request)).connect

    def disconnect(self, drain=False, timeout_ms=0):
        self._run(pb.Request(disconnect=pb.DisconnectRequest(drain=drain, timeout_ms=timeout_ms)))

    def flush(self, timeout_ms=0):
        """Waits until the server has seen everything published so far."""
        self._run(pb.Request(flush=pb.FlushRequest(timeout_ms=timeout_ms)))

    # -- messaging -----------------------------------------------------------------

    def publish(self, subject, payload=b"", *, reply_to="", headers=None):
        """Publishes payload (bytes, str or a protobuf message) to subject."""
        self._run(pb.Request(publish=pb.PublishRequest(
            subject=subject, reply_to=reply_to, headers=headers_of(headers),
            payload=as_bytes(payload))))

    def subscribe(self, subject, handler=None, *, queue_group="", max_messages=0):
        """Subscribes; returns a Subscription (unsubscribe(), and next()/iteration without handler).

        handler(message) gets each embed.v1.Message on the event-delivering thread.
        """
        subscription, _ = self._open(
            pb.Request(subscribe=pb.SubscribeRequest(subject=subject, queue_group=queue_group,
                                                     max_messages=max_messages)),
            lambda subscription_id: Subscription(self, subscription_id, subject, handler,
                                                 max_messages))
        return subscription

    def request(self, subject, payload=b"", *, headers=None, timeout_ms=0):
        """A NATS request; returns the reply (embed.v1.Message). Raises EmbedError on timeout."""
        response = self._run(pb.Request(request=pb.RequestRequest(
            subject=subject, headers=headers_of(headers), payload=as_bytes(payload),
            timeout_ms=timeout_ms)))
        return response.request.reply

    # -- RPC -------------------------------------------------------------------

    def rpc(self, method, request=b"", response_type=None, *, timeout_ms=0, metadata=None):
        """A unary call of "<package>.<Service>.<Method>".

        request: bytes or a protobuf message. Returns the reply bytes, or a
        `response_type` message. Raises EmbedError with the RPC's status.
        """
        response = self._run(pb.Request(rpc=pb.RpcRequest(
            method=method, payload=as_bytes(request), kind=pb.RPC_KIND_UNARY,
            timeout_ms=timeout_ms, metadata=headers_of(metadata))))
        return parse(response.rpc.payload, response_type)

    def rpc_stream(self, method, request=b"", handler=None, *, response_type=None, timeout_ms=0,
                   metadata=None):
        """A server-streaming call; returns an RpcStream.

        Its messages (bytes, or `response_type` messages) go to handler(message)
        or are read by iterating the RpcStream; result() waits for its end.
        """
        rpc = pb.RpcRequest(method=method, payload=as_bytes(request),
                            kind=pb.RPC_KIND_SERVER_STREAMING, timeout_ms=timeout_ms,
                            metadata=headers_of(metadata))
        call_id = self.next_id()
        stream = RpcStream(self, call_id, handler, response_type)
        self._dispatcher.add(call_id, stream)
        error = ctypes.c_void_p()
        data = pb.Request(id=call_id, rpc=rpc).SerializeToString()
        status = self._lib.embed_call(self._state.get(), data, len(data), ctypes.byref(error))
        if status != StatusCode.OK:
            self._dispatcher.remove(call_id, stream)
            raise _library.take_error(self._lib, status, error)
        return stream

    # -- the local database ----------------------------------------------------------

    def open_store(self, path=":memory:", *, synchronous=None):
        """Opens (or creates) a database file; ":memory:" is private and in memory.

        synchronous: "normal" (default) or "full" (or pb.SYNCHRONOUS_*).
        """
        from .store import Store  # store imports this module

        if synchronous in (None, "normal"):
            synchronous = pb.SYNCHRONOUS_NORMAL
        elif synchronous == "full":
            synchronous = pb.SYNCHRONOUS_FULL
        request = pb.Request(store_open=pb.StoreOpenRequest(path=path, synchronous=synchronous))
        request.id = self.next_id()
        response = self._run(request)
        return Store(self, request.id, response.store_open.schema_version)
