# expect: none
"""Periodic cache warmer; start times are spread so that replicas do not align."""

import random as rnd
import threading

from .cache import warm_popular_pages

INTERVAL = 300.0


def _schedule(stop: threading.Event) -> None:
    while not stop.is_set():
        warm_popular_pages(limit=rnd.randint(50, 80))
        stop.wait(INTERVAL + rnd.uniform(-30.0, 30.0))


def start() -> threading.Event:
    stop = threading.Event()
    threading.Timer(rnd.random() * INTERVAL, _schedule, args=(stop,)).start()
    return stop
