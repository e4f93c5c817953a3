"""Bounded, thread-safe in-memory maps: look-up caches, hints, counters.

``BoundedMap`` is the one structure; ``TTLCache`` puts a loader in front of it.
"""
import collections
import threading
import time

_MISSING = object()


class BoundedMap:
    """A dict that keeps at most ``maxsize`` entries (least recently written
    go first) and, with a ``ttl``, forgets an entry ``ttl`` seconds after it
    was written. Every method is atomic."""

    def __init__(self, maxsize=10000, ttl=None, clock=time.monotonic):
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._data = collections.OrderedDict()   # key -> (expires or None, value)
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            return self._get(key, default)

    def _get(self, key, default):
        hit = self._data.get(key)
        if hit is None:
            return default
        if hit[0] is not None and hit[0] <= self._clock():
            del self._data[key]
            return default
        return hit[1]

    def put(self, key, value):
        with self._lock:
            self._put(key, value)

    def _put(self, key, value):
        expires = None if self.ttl is None else self._clock() + self.ttl
        self._data[key] = (expires, value)
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def update(self, key, func, default=None):
        """Store and return ``func(current value or default)``, atomically."""
        with self._lock:
            value = func(self._get(key, default))
            self._put(key, value)
            return value

    def put_if_absent(self, key, value=True):
        """Store ``value`` unless ``key`` is there; whether it was stored,
        atomically (with a ``ttl``: at most once per ``ttl`` seconds)."""
        with self._lock:
            if self._get(key, _MISSING) is not _MISSING:
                return False
            self._put(key, value)
            return True

    def pop(self, key, default=None):
        with self._lock:
            hit = self._data.pop(key, None)
        return default if hit is None else hit[1]

    def __contains__(self, key):
        return self.get(key, _MISSING) is not _MISSING

    def __len__(self):
        with self._lock:
            return len(self._data)


class TTLCache:
    """Look-up results kept ``ttl`` seconds (0: not cached)."""

    def __init__(self, ttl, maxsize=4096, clock=time.monotonic):
        self.ttl = ttl
        self._map = BoundedMap(maxsize, ttl, clock)

    def get_or_load(self, key, load):
        """The cached value for key, or ``load(key)`` stored for ``ttl`` s.

        Exceptions from ``load`` are not cached.
        """
        if self.ttl <= 0:
            return load(key)
        value = self._map.get(key, _MISSING)
        if value is _MISSING:
            value = load(key)
            self._map.put(key, value)
        return value
