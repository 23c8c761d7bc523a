"""Helpers of the binding's tests (run with PYTHONPATH holding the built package)."""

import threading
import time

import embed


def wait_for(predicate, timeout=5.0, what="condition"):
    """Waits until predicate() is true; fails the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


class Collector:
    """A handler that keeps what it gets and the thread it ran on."""

    def __init__(self):
        self.items = []
        self.thread_ids = set()
        self._lock = threading.Lock()

    def __call__(self, item):
        with self._lock:
            self.items.append(item)
            self.thread_ids.add(threading.get_ident())

    def wait(self, count, timeout=5.0):
        wait_for(lambda: len(self.items) >= count, timeout, "%d items" % count)
        return list(self.items)


def hub_app(**options):
    """An Embed handle running its hub and connected to it; returns (app, HubStartResponse)."""
    app = embed.Embed(**options)
    hub = app.start_hub()
    app.connect(use_hub=True)
    return app, hub
