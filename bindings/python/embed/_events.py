"""Routing of events to what their id names, and the receiving end of each stream of events."""

import logging
import queue
import threading

from .errors import EmbedError, StatusCode

_log = logging.getLogger("embed")

# Ends the queue of a Sink.
_END = object()


def event_id(event):
    """The (kind, id) of an embed.v1.Event: the id of what it belongs to, 0 for none."""
    kind = event.WhichOneof("event")
    if kind == "response":
        return kind, event.response.id
    if kind == "message":
        return kind, event.message.subscription_id
    if kind == "rpc_message":
        return kind, event.rpc_message.call_id
    if kind == "change":
        return kind, event.change.watch_id
    return kind, 0


class Dispatcher:
    """Routes events by id; safe to use from any thread.

    A route is an object with `_on_event(kind, event) -> bool` (True when it
    consumed the event) and `_on_close()`. Events no route consumes go to
    `on_event` when set. It holds no reference to the Embed object, so the
    library's callback can outlive it without keeping it alive.
    """

    def __init__(self, on_event=None):
        self.on_event = on_event
        self._lock = threading.Lock()
        self._routes = {}

    def add(self, route_id, route):
        with self._lock:
            if route_id in self._routes:
                raise EmbedError(StatusCode.ALREADY_EXISTS, "id %d is in use" % route_id)
            self._routes[route_id] = route

    def remove(self, route_id, route=None):
        with self._lock:
            if route is None or self._routes.get(route_id) is route:
                self._routes.pop(route_id, None)

    def dispatch(self, event):
        kind, route_id = event_id(event)
        route = None
        if route_id:
            with self._lock:
                route = self._routes.get(route_id)
        consumed = False
        if route is not None:
            try:
                consumed = route._on_event(kind, event)
            except Exception:  # a handler's bug must not stop the event thread
                _log.exception("embed: handler of id %d failed", route_id)
                consumed = True
        if not consumed and self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                _log.exception("embed: on_event failed")

    def close_all(self):
        """Ends every route (the handle is closed): pending calls fail with CANCELLED."""
        with self._lock:
            routes = list(self._routes.values())
            self._routes.clear()
        for route in routes:
            try:
                route._on_close()
            except Exception:
                _log.exception("embed: closing a route failed")


class Sink:
    """Items of one subscription, stream or watch: given to a handler, or queued.

    With a handler, the handler is called for each item on the thread that
    delivers events (the library's event thread in callback mode, the thread
    calling poll() in poll mode). Without one, items wait in a queue read by
    next() or by iterating, which ends when the sink ends.
    """

    def __init__(self, handler=None):
        self._handler = handler
        self._queue = None if handler is not None else queue.Queue()
        self._ended = threading.Event()

    @property
    def ended(self):
        """True once nothing more will arrive."""
        return self._ended.is_set()

    def next(self, timeout=None):
        """The next item, waiting up to `timeout` seconds (None = forever).

        Returns None once the sink has ended and its queue is empty; raises
        EmbedError(DEADLINE_EXCEEDED) when nothing came in time, TypeError when
        items go to a handler.
        """
        if self._queue is None:
            raise TypeError("items of this object go to its handler")
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise EmbedError(StatusCode.DEADLINE_EXCEEDED, "nothing arrived in time") from None
        if item is _END:
            self._queue.put(_END)
            self._raise_if_failed()
            return None
        return item

    def __iter__(self):
        while True:
            item = self.next()
            if item is None:
                return
            yield item

    def _raise_if_failed(self):
        pass

    def _deliver(self, item):
        if self._handler is not None:
            self._handler(item)
        else:
            self._queue.put(item)

    def _end(self):
        if not self._ended.is_set():
            self._ended.set()
            if self._queue is not None:
                self._queue.put(_END)

    def _on_close(self):
        self._end()
