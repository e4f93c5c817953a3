"""FreeIPA JSON-RPC client: sessions, failover, bounded retries, group commit.

One client per process, shared by all threads. Every call:
- goes through the group commit (``novajoin.ipa.coalesce``): at most
  ``max_in_flight`` round trips at once; calls that find every slot busy
  queue and share the next free slot as one IPA ``batch`` (up to
  ``max_batch`` commands); a call still queued at its deadline fails fast,
- goes to the preferred server, failing over to the next on a transport error,
  and back to the first listed one ``failback_interval`` seconds later (the
  servers are listed in the operator's order of preference, e.g. the local
  replica first),
- is retried at most ``retries`` times with exponential backoff, and never past
  the caller's deadline,
- reuses the ``ipa_session`` cookie; only a 401 brings the credential out again.

Command errors (IPA answered with an ``error`` object) are raised as the
matching ``errors`` class and never retried here: the caller knows whether a
DuplicateEntry or a NotFound is fine.
"""
import collections
import json
import logging
import threading
import time

import requests
import urllib3

from novajoin import metrics
from novajoin.ipa import auth as ipa_auth
from novajoin.ipa import coalesce
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)

# Methods that change nothing in IPA; the rest count as writes in ``stats``.
READ_METHODS = frozenset(['host_show', 'host_find', 'service_show', 'service_find',
                          'dnsrecord_show', 'dnsrecord_find', 'dnszone_show',
                          'dnszone_find', 'env', 'ping', 'config_show'])


def server_host(server):
    """The host name of an ``[ipa] servers`` entry, ``host`` or ``host:port``.

    The port is only for JSON-RPC (IPA behind a port-mapped balancer, or a
    test's forwarder); IPA's Referer check, its LDAP and the guests'
    ipa-client-install all want the host name alone.
    """
    host, sep, port = server.rpartition(':')
    return host if sep and (port.isdigit() or not port) else server


class IPAClient:

    def __init__(self, servers, auth, ca_file=None, verify=True,
                 api_version='2.254', connect_timeout=1.5, read_timeout=4.0,
                 retries=2, retry_backoff=0.2, max_in_flight=2, max_batch=10,
                 max_queue=1000, scheme='https', failback_interval=300,
                 clock=time.monotonic):
        if not servers:
            raise ValueError('no IPA server configured ([ipa] servers)')
        self.servers = list(servers)
        self.auth = auth
        self.api_version = api_version
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries
        self.retry_backoff = retry_backoff
        self.scheme = scheme
        # A CA file given in the config must win over REQUESTS_CA_BUNDLE, which
        # requests would otherwise apply to the session (trust_env).
        self.verify = (ca_file or True) if verify else False
        self._session = requests.Session()
        self._session.trust_env = False
        self._group = coalesce.Coalescer(self._send, max_in_flight=max_in_flight,
                                         max_batch=max_batch, max_queue=max_queue)
        self._login_lock = threading.Lock()
        self._login_gen = collections.Counter()
        self._preferred = 0
        self.failback_interval = failback_interval
        self._clock = clock
        self._failback_at = None    # when to try the first server again
        self.stats = collections.Counter()  # calls per method, for benchmarks

    @classmethod
    def from_conf(cls, conf):
        group = conf.ipa
        return cls(group.servers, ipa_auth.from_conf(conf), ca_file=group.ca_file,
                   verify=group.verify, api_version=group.api_version,
                   connect_timeout=group.connect_timeout,
                   read_timeout=group.read_timeout, retries=group.retries,
                   retry_backoff=group.retry_backoff,
                   max_in_flight=group.max_in_flight,
                   max_batch=group.max_batch, max_queue=group.max_queue,
                   failback_interval=group.failback_interval)

    # -- public API ---------------------------------------------------------

    def call(self, method, *args, deadline=None, **options):
        """Run one IPA command; return its ``result`` object."""
        return self._group.submit(coalesce.Entry(
            [(method, list(args), options)], True, deadline))

    def batch(self, calls, deadline=None):
        """Run ``[(method, args, options), ...]`` together, in order.

        Returns one entry per call: its ``result`` object, or the exception
        (an ``errors.IPACommandError``) that the call alone would have raised.
        """
        if not calls:
            return []
        return self._group.submit(coalesce.Entry(
            [(m, list(a), dict(o)) for m, a, o in calls], False, deadline))

    def close(self):
        """Fail queued calls and refuse new ones (process shutdown)."""
        self._group.close()

    # -- internals ----------------------------------------------------------

    def _send(self, entries):
        """One round trip for ``entries`` (the group commit's ``send``)."""
        commands = [c for entry in entries for c in entry.commands]
        self.stats['round_trips'] += 1
        for method, _, _ in commands:
            self.stats[method] += 1
            if method not in READ_METHODS:
                self.stats['writes'] += 1
        metrics.IPA_BATCH_SIZE.observe(len(commands))
        deadlines = [e.deadline for e in entries]
        # the group's round trip may take as long as its most patient member
        deadline = None if None in deadlines else max(deadlines)
        if len(entries) == 1 and entries[0].single:
            method, args, options = commands[0]
            outcomes = [self._one(method, args, options, deadline)]
        else:
            outcomes = self._many(commands, deadline)
        at = 0
        for entry in entries:
            mine = outcomes[at:at + len(entry.commands)]
            at += len(entry.commands)
            if entry.single:
                if isinstance(mine[0], Exception):
                    entry.finish(error=mine[0])
                else:
                    entry.finish(result=mine[0])
            else:
                entry.finish(result=mine)

    def _one(self, method, args, options, deadline):
        """A command alone: its result, or its command error (returned)."""
        body = {'method': method, 'params': self._params(args, options), 'id': 0}
        try:
            return self._call(method, body, deadline, [method])[0]
        except errors.IPACommandError as exc:
            return exc

    def _many(self, commands, deadline):
        methods = [{'method': method, 'params': self._params(args, options)}
                   for method, args, options in commands]
        body = {'method': 'batch',
                'params': [[], {'methods': methods, 'version': self.api_version}],
                'id': 0}
        result, resent = self._call('batch', body, deadline,
                                    [m for m, _, _ in commands])
        out = []
        for (method, _, _), item in zip(commands, result.get('results', [])):
            if item.get('error'):
                exc = errors.from_error(item.get('error_code'),
                                        item.get('error_name'),
                                        item.get('error'), item.get('error_kw'))
                exc.resent = resent
                metrics.IPA_CALLS.labels(method=method, outcome=exc.name).inc()
                out.append(exc)
            else:
                metrics.IPA_CALLS.labels(method=method, outcome='ok').inc()
                out.append(item)
        if len(out) != len(commands):
            raise errors.IPACommandError('IPA batch answered %d results for %d '
                                         'calls' % (len(out), len(commands)))
        return out

    def _params(self, args, options):
        """JSON-RPC params of one command, with this client's API version."""
        options = dict(options)
        options.setdefault('version', self.api_version)
        return [list(args), options]

    def _call(self, method, body, deadline, methods):
        """One HTTP round trip (with failover and retries): (its result,
        whether it was sent again after an attempt IPA may have run)."""
        data = json.dumps(body).encode()
        start = time.monotonic()
        outcome = 'error'
        try:
            result = self._with_retries(method, data, deadline)
            outcome = 'ok'
            return result
        except errors.IPACommandError as exc:
            outcome = exc.name
            raise
        finally:
            if method != 'batch' or outcome != 'ok':
                for name in methods:
                    metrics.IPA_CALLS.labels(method=name, outcome=outcome).inc()
            metrics.IPA_LATENCY.labels(method=method).observe(
                time.monotonic() - start)

    def _with_retries(self, method, data, deadline):
        last = None
        resent = False
        n = len(self.servers)
        # read once: another thread failing over meanwhile must not send
        # this call's retry back to the server it just failed on
        first = self._preferred
        if first and self._failback_due():
            first = 0   # the first listed server again: it may be back
        for attempt in range(self.retries + 1):
            if attempt:
                pause = self.retry_backoff * (2 ** (attempt - 1))
                if self._remaining(deadline, pause + 1) <= pause:
                    break
                time.sleep(pause)
            index = (first + attempt) % n
            server = self.servers[index]
            resent = resent or bool(last and last.may_have_run)
            try:
                result = self._post(server, method, data, deadline)
            except errors.IPAAuthError:
                raise  # our credential is the problem; another server won't help
            except errors.IPAUnavailable as exc:
                LOG.warning('IPA %s on %s failed (attempt %d of %d): %s',
                            method, server, attempt + 1, self.retries + 1, exc)
                last = exc
                continue
            except errors.IPACommandError as exc:
                exc.resent = resent
                raise
            if index != self._preferred:
                LOG.info('IPA: now using %s', server)
                self._preferred = index
                self._failback_at = (None if index == 0 or not
                                     self.failback_interval else
                                     self._clock() + self.failback_interval)
            return result, resent
        raise last or errors.IPAUnavailable('IPA %s: no time left for a retry'
                                            % method)

    def _failback_due(self):
        """Whether this call tries the first server again; at most one
        call per interval does."""
        due = self._failback_at
        if due is None or self._clock() < due:
            return False
        self._failback_at = self._clock() + self.failback_interval
        return True

    def _post(self, server, method, data, deadline):
        base = '%s://%s' % (self.scheme, server)
        url = base + self.auth.json_path
        # IPA refuses a Referer that is not https://<its own name>/ipa...
        referer = '%s://%s/ipa' % (self.scheme, server_host(server))
        headers = {'Content-Type': 'application/json',
                   'Accept': 'application/json',
                   'Referer': referer}
        for relogin in (False, True):
            gen = self._login_gen[server]
            try:
                resp = self._session.post(url, data=data, headers=headers,
                                          auth=self.auth.request_auth(),
                                          timeout=self._timeout(deadline),
                                          verify=self.verify)
            except requests.exceptions.SSLError as exc:
                raise errors.IPAUnavailable('TLS with %s failed: %s'
                                            % (server, exc)) from exc
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.Timeout) as exc:
                lost = errors.IPAUnavailable('%s: %s' % (server, type(exc).__name__))
                lost.may_have_run = _may_have_run(exc)
                raise lost from exc
            if resp.status_code == 401 and not relogin:
                self._login(server, base, referer, gen, deadline)
                continue
            break
        if resp.status_code == 401:
            raise errors.IPAAuthError('IPA %s refused %s (HTTP 401)'
                                      % (server, self.auth.describe()))
        if resp.status_code != 200:
            failed = errors.IPAUnavailable('IPA %s answered HTTP %d to %s'
                                           % (server, resp.status_code, method))
            failed.may_have_run = True      # e.g. a proxy's 502 after IPA's work
            raise failed
        try:
            answer = resp.json()
        except ValueError as exc:
            raise errors.IPAUnavailable('IPA %s answered %s with no JSON'
                                        % (server, method)) from exc
        error = answer.get('error')
        if error:
            raise errors.from_error(error.get('code'), error.get('name'),
                                    error.get('message'), error.get('data'))
        return answer.get('result') or {}

    def _login(self, server, base, referer, seen_gen, deadline):
        with self._login_lock:
            if self._login_gen[server] != seen_gen:
                return  # another thread logged in meanwhile
            try:
                self.auth.login(self._session, base, referer,
                                self._timeout(deadline), self.verify)
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.Timeout) as exc:
                raise errors.IPAUnavailable('login to %s: %s'
                                            % (server, type(exc).__name__)) from exc
            self._login_gen[server] += 1

    def _timeout(self, deadline):
        connect, read = self.timeout
        left = self._remaining(deadline, connect + read)
        if left <= 0:
            raise errors.IPAUnavailable('deadline passed')
        return (min(connect, left), min(read, left))

    @staticmethod
    def _remaining(deadline, default):
        if deadline is None:
            return default
        return max(0.0, deadline - time.monotonic())


def _may_have_run(exc):
    """Whether a request cut short by ``exc`` (a requests transport error)
    may have reached IPA: not when no connection was made."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    reason = getattr(exc.args[0] if exc.args else None, 'reason', None)
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)
