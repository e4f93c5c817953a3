"""A small thread-safe TTL cache for look-ups (image properties, project names)."""
import collections
import threading
import time


class TTLCache:

    def __init__(self, ttl, maxsize=4096, clock=time.monotonic):
        self.ttl = ttl
        self.maxsize = maxsize
        self._clock = clock
        self._data = {}
        self._lock = threading.Lock()

    def get_or_load(self, key, load):
        """The cached value for key, or ``load(key)`` stored for ``ttl`` s.

        Exceptions from ``load`` are not cached.
        """
        if self.ttl <= 0:
            return load(key)
        now = self._clock()
        with self._lock:
            hit = self._data.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = load(key)
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._evict(now)
            self._data[key] = (now + self.ttl, value)
        return value

    def _evict(self, now):
        expired = [k for k, (t, _) in self._data.items() if t <= now]
        for key in expired or list(self._data)[:max(1, self.maxsize // 10)]:
            del self._data[key]


class RecentSet:
    """A bounded set that forgets its oldest members first (a hint, not a truth)."""

    def __init__(self, maxsize=10000):
        self.maxsize = maxsize
        self._data = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, key):
        with self._lock:
            self._data[key] = None
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __contains__(self, key):
        with self._lock:
            return key in self._data
