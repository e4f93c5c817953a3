"""A cloud's IPA hosts: find them, keep their services in line with the
metadata, remove them with what hangs off them.

Shared by the delete handler, the update handler and the reconciler. Only
hosts whose ownership record names this cloud (``records.Cloud``) are ever
found here, so nothing here touches another cloud's hosts in a shared realm.

What "hangs off" a host H (see ``novajoin.hosts.create``):
- subhosts (userclass record ``novajoin: subhost``) that H manages,
- services on those subhosts (or on shared VIP hosts) that H manages,
- H's own DNS records (A/AAAA and their PTRs; floating IPs included).

Releasing H from a subhost or a service deletes it only when no other host
manages it any more; otherwise H is just unlinked, since another instance
(another controller of the same TripleO VIP) still uses it. Hosts and services
novajoin did not create are only ever unlinked, never deleted.
"""
import logging
import uuid

from novajoin import validation
from novajoin.cache import BoundedMap
from novajoin.hosts import create
from novajoin.hosts import dns
from novajoin.hosts import subhosts
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)

# The records of a host's own name that IPA's host_del updatedns removes.
_HOST_RECORDS = ('arecord', 'aaaarecord', 'sshfprecord')

# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH = 0x01b21dd213814000


def principal_name(value):
    """'HTTP/host' from 'HTTP/host@REALM' (IPA adds the realm)."""
    return value.partition('@')[0]


def first(entry, attr, default=None):
    value = entry.get(attr)
    if isinstance(value, list):
        return value[0] if value else default
    return default if value is None else value


def has_keys(host):
    """Whether the host entry has Kerberos keys (has enrolled).

    ``host_show`` says so (``has_keytab``); ``host_find`` does not, even with
    ``all``, but lists ``krblastpwdchange``, which IPA sets with the keys and
    clears with them (host_disable). Measured on FreeIPA 4.12.
    """
    if 'has_keytab' in host:
        return bool(host['has_keytab'])
    return bool(host.get('krblastpwdchange'))


def created_at(host):
    """Unix time the IPA entry was created, or None when it cannot be told.

    IPA's uuid plug-in gives each entry a time-based (version 1) ipaUniqueID;
    its timestamp is the creation time. IPA does not return createTimestamp.
    """
    try:
        value = uuid.UUID(first(host, 'ipauniqueid', ''))
    except ValueError:
        return None
    if value.version != 1:
        return None
    return (value.time - _UUID_EPOCH) / 1e7


def deleted(calls, fqdn):
    """Whether ``calls``, what ``Hosts.remove`` did, deleted ``fqdn`` itself
    (not so when another handler deleted it first)."""
    return any(call[0] == 'host_del' and call[1] == [fqdn.lower()]
               for call in calls)


class Hosts:

    def __init__(self, ipa, zones, cloud, directory=None):
        self.ipa = ipa
        self.zones = zones
        self.cloud = cloud
        # novajoin.ipa.directory.Directory: lists hosts from LDAP, page by
        # page (the reconciler at cloud scale); None: one host_find
        self.directory = directory
        self._ldap_failing = BoundedMap(1, ttl=60)   # said once a minute

    # -- finding ----------------------------------------------------------

    def owned_by(self, instance_id, for_removal=False):
        """Host entries whose ownership record names this instance.

        Only hosts carrying the instance's userclass key (which only
        novajoin, when adding, and administrators write) and only an exact
        owner record of this cloud count. IPA indexes no userclass, so the
        search is the criteria search for the id (the description repeats
        the record; IPA indexes it) narrowed by that key: as fast as a
        host_show at 3,000 hosts, where the key alone reads every host
        (bench/owner_lookup.py). A guest that rewrites its description hides
        its own host from here, no other: the reconciler, which lists by the
        cloud's key, removes it once its instance is gone.

        ``for_removal``: the entries need only what ``remove()`` reads
        (fqdn, records, ``managing_host``), so with a directory they are
        read from LDAP, the same search, and IPA's JSON-RPC is left the
        host_del alone; if LDAP fails, from JSON-RPC.

        An id that is not a UUID (a tenant may set a port's ``device_id`` to
        anything) owns nothing and never reaches IPA.
        """
        instance_id = validation.canonical_uuid(instance_id)
        if instance_id is None:
            return []
        index = self.cloud.instance_index(instance_id)
        found = None
        if for_removal and self.directory is not None:
            found = self._from_directory(instance_id, index)
        if found is None:
            # all=True: managing_host tells remove() whether there is more
            # to do; no_members: IPA skips group memberships (nothing here
            # reads them), 1.5x the finds/s on FreeIPA 4.12, managing_host
            # still answered
            found = self.ipa.call('host_find', instance_id, all=True,
                                  sizelimit=0, no_members=True,
                                  userclass=index).get('result', [])
        return [h for h in found
                if (self.cloud.owner(h) or (None,))[0] == instance_id]

    def _from_directory(self, instance_id, index):
        """``owned_by``'s search over LDAP, or None when LDAP fails (said
        at most once a minute: every delete would say it)."""
        try:
            return self.directory.naming(instance_id, index)
        except errors.IPAUnavailable as exc:
            if self._ldap_failing.put_if_absent('said'):
                LOG.warning('reading IPA hosts from LDAP failed, using '
                            'JSON-RPC instead: %s', exc)
            return None

    def novajoin_hosts(self):
        """Every host carrying this cloud's record (owned hosts, subhosts),
        an iterator."""
        if self.directory is not None:
            # what each host manages, as host_find all=True says it: read
            # first, so that remove() asks IPA only about hosts that manage
            # others (a round trip per host otherwise)
            managers = self.directory.managers()
            return (_managing(h, managers)
                    for h in self.directory.hosts(self.cloud.index())
                    if self.cloud.is_ours(h))
        found = self.ipa.call('host_find', all=True, sizelimit=0,
                              no_members=True, userclass=self.cloud.index())
        if found.get('truncated'):
            LOG.warning('IPA truncated the list of novajoin hosts at %d; the '
                        'rest is looked at on the next run', found.get('count'))
        return iter([h for h in found.get('result', []) if self.cloud.is_ours(h)])

    def managed_by(self, fqdn):
        """(services, hosts) entries that ``fqdn`` manages, itself excluded."""
        services, hosts = self.ipa.batch([
            ('service_find', [], {'man_by_host': fqdn, 'all': True,
                                  'sizelimit': 0, 'no_members': True}),
            ('host_find', [], {'man_by_host': fqdn, 'all': True,
                               'sizelimit': 0, 'no_members': True})])
        dns.raise_failures([services, hosts], tolerate=(errors.NotFound,))
        services = [] if isinstance(services, Exception) else services['result']
        hosts = [] if isinstance(hosts, Exception) else hosts['result']
        return services, [h for h in hosts if first(h, 'fqdn', '').lower() != fqdn]

    # -- releasing and removing --------------------------------------------

    def plan_release(self, fqdn, keep_hosts=(), keep_principals=(),
                     managed=None):
        """IPA calls that detach ``fqdn`` from what it manages, but the kept.

        ``managed``: what ``managed_by(fqdn)`` answered, if already read.
        Returns (unlink calls, delete calls): unlinking first, so that a
        failure half-way never leaves a deleted subhost still linked.
        """
        services, hosts = managed or self.managed_by(fqdn)
        subhosts = {first(h, 'fqdn', '').lower(): h for h in hosts}
        keep_hosts = {h.lower() for h in keep_hosts}
        keep_principals = set(keep_principals)
        unlink, delete = [], []
        for service in services:
            name = principal_name(first(service, 'krbprincipalname', ''))
            on_host = name.partition('/')[2].lower()
            if name in keep_principals or on_host == fqdn:
                continue  # wanted, or the host's own (goes with the host)
            others = _managers(service) - {fqdn, on_host}
            host_entry = subhosts.get(on_host)
            if (others or host_entry is None
                    or not self.cloud.is_own_subhost(host_entry)):
                unlink.append(('service_remove_host', [name], {'host': [fqdn]}))
            else:
                delete.append(('service_del', [name], {}))
        for name, host in sorted(subhosts.items()):
            if name in keep_hosts:
                continue
            others = _managers(host) - {fqdn, name}
            if others or not self.cloud.is_own_subhost(host):
                unlink.append(('host_remove_managedby', [name], {'host': [fqdn]}))
            else:
                delete.append(('host_del', [name], {'updatedns': True}))
        return unlink, delete

    def release(self, fqdn, keep_hosts=(), keep_principals=(), dry_run=False,
                managed=None):
        unlink, delete = self.plan_release(fqdn, keep_hosts, keep_principals,
                                           managed)
        if not dry_run:
            self.run(unlink)
            self.run(delete)
        return unlink + delete

    def remove(self, fqdn, entry=None, dry_run=False):
        """Remove ``fqdn``, its subhosts, orphaned services and DNS records.

        ``entry``: the host as ``host_find all=True`` returned it, if at hand.
        A host that manages no other host manages no service either (novajoin
        links a service only together with its host), so its entry's
        ``managing_host`` spares the look-up of what it manages.
        """
        fqdn = fqdn.lower()
        if entry is not None and 'managing_host' in entry and not (
                {m.lower() for m in entry['managing_host']} - {fqdn}):
            done = []
        else:
            done = self.release(fqdn, dry_run=dry_run)
        call = ('host_del', [fqdn], {'updatedns': True})
        if not dry_run:
            try:
                (result,) = self.run([call])
            except errors.ACIError:
                # IPA answers this for an entry another request is deleting
                # right now (a replica killed mid-delete, its message handed
                # to us): gone is gone; still there, it is a real refusal.
                if self._exists(fqdn):
                    raise
                LOG.info('IPA host %s was being removed by another request',
                         fqdn)
                return done
            if isinstance(result, errors.NotFound):
                if not result.resent:
                    # Removed a moment ago by another handler of the same
                    # delete (nova sends it in two formats; replicas share
                    # them): the host_del is theirs, not to be reported twice.
                    return done
                # Our first host_del's answer was lost (a cut, a timeout)
                # and its retry found the host gone: most likely our own
                # removal, so it is reported (an audit event at worst twice,
                # never missing).
                LOG.info('IPA host %s: the answer to its host_del was lost '
                         'and the retry found it gone; taken as removed here',
                         fqdn)
        return done + [call]

    def sync(self, fqdn, project_id, wanted, dry_run=False, _again=False):
        """Make ``fqdn`` (a host of ``project_id``) manage exactly ``wanted``
        (a checked ``services.ServiceRequest``): add what IPA lacks, as
        enrollment does and as atomically, and release what is no longer
        listed. Returns the IPA calls made (or planned, with ``dry_run``).
        """
        services, managed = current = self.managed_by(fqdn)
        have_hosts = {first(h, 'fqdn', '').lower() for h in managed}
        have_principals = {principal_name(first(s, 'krbprincipalname', ''))
                           for s in services}
        new_hosts = [h for h in wanted.subhosts
                     if h != fqdn and h not in have_hosts]
        new_principals = [p for p in wanted.principals if p not in have_principals
                          and p.partition('/')[2] != fqdn]
        calls = []
        if new_hosts or new_principals:
            calls += subhosts.link_calls(
                fqdn, subhosts.missing(self.ipa, self.cloud, project_id,
                                       new_hosts),
                new_principals, new_hosts, self.cloud.subhost_values(project_id))
            if not dry_run:
                try:
                    # Another worker may make the same subhost a moment
                    # before this batch (nova sends each update in two
                    # formats; replicas share them): it is ours, keep going.
                    create.run_atomically(
                        self.ipa, calls, what='the services of %s' % fqdn,
                        ours=lambda names: subhosts.ours(
                            self.ipa, self.cloud, project_id, names))
                except create.BatchFailed as exc:
                    if not exc.duplicate or _again:
                        raise
                    # A name appeared that is not ours (or its owner could
                    # not be read): what we made was undone; read IPA again,
                    # which refuses a stranger's name with Conflict.
                    LOG.info('services of %s: %s was created concurrently; '
                             'syncing again', fqdn, ', '.join(exc.duplicate))
                    return self.sync(fqdn, project_id, wanted, _again=True)
        # Releasing works from what was read before the additions: what was
        # just added is wanted, so it would be kept anyway.
        calls += self.release(fqdn, keep_hosts=wanted.subhosts,
                              keep_principals=wanted.principals,
                              dry_run=dry_run, managed=current)
        return calls

    def run(self, calls):
        """Run IPA calls in one batch; "already done" answers are fine.
        Returns each call's result (an exception for "already done").

        ``host_del`` with ``updatedns`` fails with 903 when the zone's SOA does
        not resolve (IPA asks DNS, not its own LDAP); then the records are
        removed one by one and the host without ``updatedns``.
        """
        if not calls:
            return []
        results = self.ipa.batch(calls)
        retry = [call for call, result in zip(calls, results)
                 if isinstance(result, errors.InternalError)
                 and call[0] == 'host_del' and call[2].get('updatedns')]
        dns.raise_failures([r for c, r in zip(calls, results) if c not in retry])
        for call in retry:
            fqdn = call[1][0]
            LOG.info('IPA could not update DNS while deleting %s (its zone does '
                     'not resolve); removing its records explicitly', fqdn)
            self.remove_dns(fqdn)
            try:
                result = self.ipa.call('host_del', fqdn)
            except errors.NotFound as exc:
                result = exc
            results[calls.index(call)] = result
        return results

    def _exists(self, fqdn):
        try:
            self.ipa.call('host_show', fqdn)
            return True
        except errors.NotFound:
            return False

    def remove_dns(self, fqdn):
        """Delete what IPA's ``host_del updatedns`` would: the host's A, AAAA
        and SSHFP records and the PTRs to it. Other records on the name (an
        administrator's TXT or MX) stay; IPA drops the name once empty."""
        where = self.zones.split(fqdn)
        if where is None:
            return
        try:
            record = self.ipa.call('dnsrecord_show', *where)['result']
        except errors.NotFound:
            return
        calls = []
        for ip in record.get('arecord', []) + record.get('aaaarecord', []):
            reverse = self.zones.reverse_of(ip)
            if reverse:
                calls.append(('dnsrecord_del', list(reverse),
                              {'ptrrecord': [dns.absolute(fqdn)]}))
        values = {kind: list(record[kind]) for kind in _HOST_RECORDS
                  if record.get(kind)}
        if values:
            calls.append(('dnsrecord_del', list(where), values))
        dns.raise_failures(self.ipa.batch(calls))


def _managing(entry, managers):
    """``entry`` with ``managing_host`` empty when its host manages no other
    host; left out (unknown: remove() asks IPA) when it does."""
    if not {f.lower() for f in entry.get('fqdn', [])} & managers:
        entry['managing_host'] = []
    return entry


def _managers(entry):
    return {m.lower() for m in entry.get('managedby_host', [])}


_SECRET_OPTIONS = {'userpassword'}     # an OTP: never printed or logged


def describe(call):
    """A short human line for an IPA call (dry-run output, logs)."""
    method, args, opts = call
    extra = ' '.join('%s=%s' % (k, '***' if k in _SECRET_OPTIONS
                                else ','.join(v) if isinstance(v, list) else v)
                     for k, v in sorted(opts.items()))
    return ' '.join([method] + [str(a) for a in args] + ([extra] if extra else []))
