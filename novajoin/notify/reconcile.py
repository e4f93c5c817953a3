"""The leak sweeper: IPA hosts owned by novajoin vs the servers nova has.

What notifications miss (listener down when the queue was purged, a delete
given up after its retries, a delete from before novajoin-notify ran) is found
here:
1. hosts whose owning instance nova no longer has: removed with their
   subhosts, orphaned services and DNS records (``Hosts.remove``);
2. subhosts no host manages any more: removed;
   and of the hosts of one live instance (nova renamed it, API >= 2.90, and
   its next metadata fetch made a host under the new name), the unenrolled
   extras: with a host enrolled they go, else all but the newest go, so that
   one host claims one instance;
3. floating-IP A records (and PTRs) of live servers that differ from what
   neutron says: each differing address is settled as neutron has it now
   (``novajoin.notify.floating``): missing records added, stale ones removed.

Safety: each "gone" instance is confirmed by nova before its host is
touched: listed by nova as DELETED (one listing for them all), or else
answering 404 to a GET of its own; and hosts younger than the grace period
are left alone. nova is read while IPA is (the listings are most of a run's
time at cloud scale), so a host listed may belong to an instance created
after nova's listing of live servers: it is young, and its GET finds it.
"""
import collections
import concurrent.futures
import logging
import threading
import time

from novajoin import audit as audit_mod
from novajoin import openstack
from novajoin.hosts import store as hosts_mod
from novajoin.notify import floating as floating_mod

LOG = logging.getLogger(__name__)

# seconds before the oldest orphan host's creation that nova's listing of
# deleted servers starts at: IPA's and nova's clocks may differ
DELETED_SINCE_MARGIN = 86400
# the listing of deleted servers stops after this many times the orphans'
# instances (at least DELETED_LISTING_MIN): newest first, so the orphans of
# deletes older than that get a GET each
DELETED_LISTING_FACTOR = 4
DELETED_LISTING_MIN = 1000
# deleted servers listed ahead, while IPA is read, before the listing waits
# to learn its bound (memory: ids only)
DELETED_LISTING_AHEAD = 20000


class Report:
    def __init__(self):
        self.actions = []       # (what, IPA call) done, or planned in a dry run
        self.kept = collections.Counter()
        self._lock = threading.Lock()

    def add(self, what, calls):
        with self._lock:
            self.actions.extend((what, call) for call in calls)

    def keep(self, why, n=1):
        with self._lock:
            self.kept[why] += n

    def lines(self):
        return ['%s: %s' % (what, hosts_mod.describe(call))
                for what, call in self.actions]

    def summary(self):
        kept = ', '.join('%d %s' % (n, why) for why, n in sorted(self.kept.items()))
        return '%d IPA changes%s' % (len(self.actions),
                                     '; kept ' + kept if kept else '')


class Reconciler:

    def __init__(self, hosts, servers, floating=None, grace=1800, domains=(),
                 clock=time.time, audit=None, workers=8, max_nova_failures=10):
        self.hosts = hosts
        self.audit = audit or audit_mod.Auditor(service='novajoin-reconcile')
        self.servers = servers          # openstack.Servers (or a stand-in)
        self.floating = floating        # None: leave floating-IP records alone
        self.grace = grace
        self.domains = [d.lower().strip('.') for d in domains]
        self.clock = clock
        self._first_seen = {}           # fqdn -> when seen orphaned, age unknown
        self.workers = workers          # orphans confirmed and removed at once
        self.max_nova_failures = max_nova_failures

    def run(self, dry_run=False):
        report = Report()
        nova = _NovaListings(self.servers)
        nova.start()
        try:
            # only this cloud's records (Hosts.cloud)
            start = time.monotonic()
            entries = [h for h in self.hosts.novajoin_hosts()
                       if self._ours(_fqdn(h))]
            LOG.info('reconciler: %d novajoin hosts listed from IPA in %.1f s',
                     len(entries), time.monotonic() - start)
            alive = nova.alive()
            cloud = self.hosts.cloud
            owned = [(h, cloud.owner(h).instance) for h in entries
                     if cloud.owner(h)]
            by_instance = collections.defaultdict(list)
            orphans = []
            for host, instance in owned:
                if instance not in alive:
                    orphans.append((host, instance))
                else:
                    by_instance[instance].append(host)
            deleted = nova.deleted(orphans)
        finally:
            nova.stop()
        # the rest confirmed with a GET each, a few at a time: at cloud scale
        # one by one would take minutes; IPA removals share batches meanwhile
        start = time.monotonic()
        failures = _Failures(self.max_nova_failures)
        with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
            for done, _ in enumerate(pool.map(
                    lambda hi: self._orphan(*hi, report, dry_run, failures,
                                            deleted),
                    orphans), 1):
                if done % 1000 == 0:
                    LOG.info('reconciler: %d of %d hosts without a server in '
                             'nova checked', done, len(orphans))
        if failures.tripped():
            raise failures.last
        if orphans:
            LOG.info('reconciler: %d hosts without a server in nova checked '
                     'with nova in %.1f s', len(orphans),
                     time.monotonic() - start)
        for instance, hosts in by_instance.items():
            if len(hosts) > 1:
                self._extra_hosts(instance, hosts, report, dry_run)
        for host in entries:
            if cloud.is_own_subhost(host):
                self._lonely_subhost(host, report, dry_run)
        if self.floating is not None:
            self._floating_ips([(h, i) for h, i in owned if i in alive],
                               report, dry_run)
        return report

    # -- hosts ---------------------------------------------------------------

    def _ours(self, fqdn):
        return not self.domains or any(fqdn == d or fqdn.endswith('.' + d)
                                       for d in self.domains)

    def _old_enough(self, host, report):
        fqdn = _fqdn(host)
        born = hosts_mod.created_at(host)
        if born is None:
            # No creation time: count from when this process first saw it.
            born = self._first_seen.setdefault(fqdn, self.clock())
        if self.clock() - born < self.grace:
            report.keep('within the grace period')
            return False
        return True

    def _orphan(self, host, instance, report, dry_run, failures, deleted=()):
        if failures.tripped() or not self._old_enough(host, report):
            return
        if instance in deleted:
            self._remove(host, instance, 'instance %s is deleted' % instance,
                         report, dry_run)
            return
        try:
            exists = self.servers.exists(instance)
        except openstack.UpstreamError as exc:
            # one unanswered GET keeps that host until the next run; nova
            # failing again and again ends the run (removing nothing more)
            failures.add(exc)
            report.keep('nova did not answer (asked again next run)')
            LOG.warning('reconciler: nova did not say whether instance %s '
                        'exists (%s); its host %s is kept', instance, exc,
                        _fqdn(host))
            return
        if exists:
            report.keep('instance still exists')   # listed late, or a race
            return
        self._remove(host, instance, 'instance %s is gone' % instance, report,
                     dry_run)

    def _remove(self, host, instance, why, report, dry_run):
        """Remove an instance's host (planned only, in a dry run)."""
        fqdn = _fqdn(host)
        what = 'host %s (%s)' % (fqdn, why)
        report.add(what, self.hosts.remove(fqdn, entry=host, dry_run=dry_run))
        self._first_seen.pop(fqdn, None)
        if not dry_run:
            LOG.info('reconciler: removed %s', what)
            self.audit.host_removed(fqdn, instance, 'novajoin-reconcile')

    def _extra_hosts(self, instance, hosts, report, dry_run):
        """One instance, several hosts: keep the enrolled one (its guest
        holds its keys), or the newest when none has enrolled; remove the
        other unenrolled ones. Several enrolled: an administrator decides."""
        enrolled = [h for h in hosts if hosts_mod.has_keys(h)]
        if len(enrolled) > 1:
            LOG.warning('reconciler: instance %s has %d enrolled IPA hosts (%s); '
                        'left for an administrator', instance, len(enrolled),
                        ', '.join(sorted(_fqdn(h) for h in enrolled)))
            report.keep('enrolled hosts of one instance', len(enrolled))
            return
        keep = enrolled[0] if enrolled else max(
            hosts, key=lambda h: hosts_mod.created_at(h) or 0)
        for host in hosts:
            if host is not keep and self._old_enough(host, report):
                self._remove(host, instance, 'instance %s is %s' % (
                    instance, _fqdn(keep)), report, dry_run)

    def _lonely_subhost(self, host, report, dry_run):
        fqdn = _fqdn(host)
        managers = {m.lower() for m in host.get('managedby_host', [])} - {fqdn}
        if managers or not self._old_enough(host, report):
            return
        call = ('host_del', [fqdn], {'updatedns': True})
        if not dry_run:
            self.hosts.run([call])
            LOG.info('reconciler: removed subhost %s (no host manages it)', fqdn)
        report.add('subhost %s (unmanaged)' % fqdn, [call])
        self._first_seen.pop(fqdn, None)

    # -- floating IPs --------------------------------------------------------

    def _floating_ips(self, live, report, dry_run):
        try:
            for ip, outcome, calls in self.floating.sweep(live, dry_run=dry_run):
                if calls:
                    report.add('floating IP %s (%s)' % (ip, outcome), calls)
                    if not dry_run:
                        LOG.info('reconciler: floating IP %s settled as '
                                 'neutron has it (%s)', ip, outcome)
        except (openstack.UpstreamError, floating_mod.NotConfigured) as exc:
            LOG.warning('reconciler: floating-IP records not checked: %s', exc)
            report.keep('floating IPs not checked (neutron failed)')


class _NovaListings(threading.Thread):
    """nova's listings, made in the background while IPA is read: the live
    servers, then the deleted ones, page by page.

    Until the orphans are known (``deleted(orphans)``) the deleted listing
    goes on unfiltered, up to ``DELETED_LISTING_AHEAD`` servers; then it is
    narrowed to servers deleted since the
    oldest orphan host was made, and it stops once every orphan's instance
    is listed or after ``DELETED_LISTING_FACTOR`` times as many servers.
    """

    def __init__(self, servers):
        super().__init__(name='reconciler-nova', daemon=True)
        self.servers = servers
        self._lock = threading.Lock()
        self._settled = threading.Event()   # the orphans known, or stopped
        self._done = threading.Event()
        self._alive = concurrent.futures.Future()     # the live servers' ids
        self._found = set()
        self._error = None
        self._orphans = None        # instances; None while IPA is read
        self._since = None
        self._at_most = None
        self._stopped = False
        self._took = None           # the deleted listing's seconds

    def run(self):
        start = time.monotonic()
        try:
            alive = self.servers.ids()
        except Exception as exc:    # raised in the reconciler's own thread
            self._alive.set_exception(exc)
            return
        LOG.info('reconciler: nova has %d servers (listed in %.1f s)',
                 len(alive), time.monotonic() - start)
        self._alive.set_result(alive)
        start = time.monotonic()
        try:
            for page in self.servers.deleted_pages(self._bound):
                with self._lock:
                    self._found.update(page)
                    ahead = len(self._found) >= DELETED_LISTING_AHEAD
                if ahead:
                    self._settled.wait()
                with self._lock:
                    if self._enough():
                        break
        except Exception as exc:    # UpstreamError: a GET each instead
            self._error = exc
        finally:
            self._took = time.monotonic() - start
            self._done.set()

    def _bound(self):
        with self._lock:
            return self._since

    def _enough(self):
        if self._stopped:
            return True
        if self._orphans is None:
            return False            # IPA not read yet: go on listing
        return (self._orphans <= self._found
                or len(self._found) >= self._at_most)

    def alive(self):
        """The live servers' ids; nova failing to list them ends the run."""
        return self._alive.result()

    def deleted(self, orphans):
        """Which of the orphans' instances nova lists as deleted (an empty
        set when nova cannot list them: each is then asked on its own)."""
        instances = {i for _, i in orphans}
        born = [hosts_mod.created_at(h) for h, _ in orphans]
        with self._lock:
            # an instance is deleted after its host was made; the margin is
            # for clocks that differ between IPA and nova
            if orphans and None not in born:
                self._since = min(born) - DELETED_SINCE_MARGIN
            # bounded by the orphans, not by how long nova keeps its rows
            self._at_most = max(DELETED_LISTING_MIN,
                                DELETED_LISTING_FACTOR * len(instances))
            self._orphans = instances
        self._settled.set()
        if not orphans:
            return frozenset()
        self._done.wait()
        if isinstance(self._error, openstack.UpstreamError):
            LOG.warning('reconciler: nova did not list its deleted servers '
                        '(%s); each of the %d hosts without a server is '
                        'confirmed with a GET instead', self._error,
                        len(orphans))
            return frozenset()
        if self._error is not None:
            raise self._error       # a bug, not nova: not hidden by GETs
        with self._lock:
            listed = len(self._found)
            deleted = frozenset(instances & self._found)
        LOG.info('reconciler: nova lists %d of the %d instances without a '
                 'server as deleted (%d listed in %.1f s, begun while IPA '
                 'was read); the other %d are asked one by one', len(deleted),
                 len(instances), listed, self._took, len(instances - deleted))
        return deleted

    def stop(self):
        """No more pages (at once if it has not begun)."""
        with self._lock:
            self._stopped = True
        self._settled.set()


class _Failures:
    """nova's unanswered confirmations in one run; tripped past a bound."""

    def __init__(self, bound):
        self.bound = bound
        self.count = 0
        self.last = None
        self._lock = threading.Lock()

    def add(self, exc):
        with self._lock:
            self.count += 1
            self.last = exc

    def tripped(self):
        return self.count > self.bound


def _fqdn(host):
    return hosts_mod.first(host, 'fqdn', '').lower()
