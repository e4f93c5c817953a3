"""Group commit for IPA calls: concurrent callers share round trips.

Most of an IPA call's cost is per request (HTTP, session, ipalib dispatch),
not the LDAP work: measured on FreeIPA 4.12, a ``batch`` of 10 ``host_add``
runs 1.7-2.5x faster per host than one call each (DESIGN.md 2c). So:

- at most ``max_in_flight`` round trips are in flight per process (IPA gets
  slower, not faster, with more concurrency);
- a caller that finds a slot free sends at once: alone if nothing else waits,
  so a quiet service adds no latency;
- while every slot is busy, calls queue here (at most ``max_queue``); when a
  slot frees, the thread that holds it takes the oldest queued calls (at most
  ``max_batch`` IPA commands) and sends them as one ``batch``; each caller
  gets its own result or its own error back, in its own thread;
- a call still queued when its caller's deadline passes is dropped from the
  queue and fails with ``IPAUnavailable`` ("busy"): a request that cannot be
  answered in time is shed fast instead of being sent late. A call already
  sent is waited for: IPA may have acted on it;
- ``close`` fails everything queued and refuses new calls.

A unit is an ``Entry``: one command, or an explicit batch the caller made
(its commands stay together and in order). Commands of a batch run one by
one in IPA and each succeeds or fails on its own, so sharing a batch changes
no caller's semantics. A round trip that fails as a whole (transport, auth)
fails every entry in it with that error.
"""
import collections
import threading
import time

from novajoin import metrics
from novajoin.ipa import errors


_SHUTDOWN = 'IPA client is shutting down'


class Entry:
    """Commands ``[(method, args, options), ...]`` that travel together.

    ``single``: one command whose result (or error) is returned as such;
    otherwise a batch whose per-command outcomes are returned as a list.
    """

    __slots__ = ('commands', 'single', 'deadline', 'queued_at', 'sent', 'done',
                 'result', 'error')

    def __init__(self, commands, single, deadline):
        self.commands = commands
        self.single = single
        self.deadline = deadline
        self.queued_at = None
        self.sent = False
        self.done = False
        self.result = None
        self.error = None

    def finish(self, result=None, error=None):
        self.result, self.error, self.done = result, error, True

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


class Coalescer:
    """Shares ``max_in_flight`` slots among callers, batching what waits.

    ``send(entries)`` does one round trip for the entries given and calls
    ``finish`` on each (it must not raise for a per-command error; a
    whole-round-trip failure may be raised and then fails them all).
    """

    def __init__(self, send, max_in_flight=2, max_batch=10, max_queue=1000,
                 clock=time.monotonic):
        if max_in_flight < 1 or max_batch < 1 or max_queue < 1:
            raise ValueError('max_in_flight, max_batch and max_queue must be '
                             'at least 1')
        self._send = send
        self.max_batch = max_batch
        self.max_queue = max_queue
        self._free = max_in_flight
        self._queue = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._clock = clock

    def submit(self, entry):
        """Run ``entry`` (queued, possibly batched with others); its outcome."""
        with self._cond:
            if self._closed:
                raise errors.IPAUnavailable(_SHUTDOWN)
            if len(self._queue) >= self.max_queue:
                metrics.SHED.labels(reason='queue full').inc()
                raise errors.IPABusy('IPA busy: %d calls already queued'
                                     % len(self._queue))
            entry.queued_at = self._clock()
            self._queue.append(entry)
            while not entry.done:
                if self._free and self._queue:
                    self._lead()
                    continue
                if entry.sent:
                    self._cond.wait()    # in flight: its sender notifies
                    continue
                wait = None
                if entry.deadline is not None:
                    wait = entry.deadline - self._clock()
                    if wait <= 0:
                        self._drop(entry, _late(entry), 'deadline')
                        break
                self._cond.wait(wait)
        return entry.outcome()

    def close(self):
        """Fail every queued call; refuse new ones. Calls in flight finish."""
        with self._cond:
            self._closed = True
            while self._queue:
                metrics.SHED.labels(reason='shutdown').inc()
                self._queue.popleft().finish(
                    error=errors.IPAUnavailable(_SHUTDOWN))
            self._cond.notify_all()

    def queued(self):
        with self._cond:
            return len(self._queue)

    # -- internals (called with the condition held) -------------------------

    def _drop(self, entry, why, reason):
        """Take a queued (never sent) entry out, failed."""
        self._queue.remove(entry)
        metrics.SHED.labels(reason=reason).inc()
        entry.finish(error=errors.IPABusy(why))

    def _take(self):
        """The oldest queued entries, up to ``max_batch`` commands (an
        explicit batch larger than that goes alone); expired ones are
        failed, not sent."""
        now = self._clock()
        group, size = [], 0
        while self._queue:
            entry = self._queue[0]
            if entry.deadline is not None and entry.deadline <= now:
                self._drop(entry, _late(entry), 'deadline')
                continue
            n = len(entry.commands)
            if group and size + n > self.max_batch:
                break
            self._queue.popleft()
            metrics.IPA_QUEUE_WAIT.observe(now - entry.queued_at)
            entry.sent = True
            group.append(entry)
            size += n
        return group

    def _lead(self):
        """Hold a slot: send the oldest queued entries in one round trip."""
        group = self._take()
        if not group:
            self._cond.notify_all()   # expired entries were failed
            return
        self._free -= 1
        self._cond.release()
        try:
            self._send(group)
        except Exception as exc:  # noqa: BLE001 - fails the whole trip
            for entry in group:
                if not entry.done:
                    entry.finish(error=exc)
        finally:
            for entry in group:
                if not entry.done:   # a send that forgot one: never hang
                    entry.finish(error=errors.IPACommandError(
                        'no answer for %s' % _what(entry)))
            self._cond.acquire()
            self._free += 1
            self._cond.notify_all()


def _what(entry):
    return entry.commands[0][0] if entry.single else 'batch'


def _late(entry):
    return 'IPA busy: no free slot for %s before the deadline' % _what(entry)
