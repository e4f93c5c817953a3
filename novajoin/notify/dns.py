"""IPA DNS for enrolled hosts: zones, floating-IP A and PTR records.

A floating IP of an enrolled server is an A record ``<name>`` in the host's
zone (the longest IPA zone its FQDN ends with) and, when IPA has the reverse
zone, a PTR record back to the FQDN. IPA refuses ``a_extra_create_reverse`` for
reserved ranges (TEST-NET...), so both are always added explicitly.

Only names of hosts novajoin owns are ever touched: an A record of the same IP
under another name (an operator's alias) stays.
"""
import ipaddress
import logging

from novajoin.hosts.dns import absolute
from novajoin.hosts.dns import dns_name
from novajoin.hosts.dns import raise_failures
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)


class FloatingDNS:
    """A/PTR records of floating IPs, for enrolled hosts only."""

    def __init__(self, ipa, zones, cloud):
        self.ipa = ipa
        self.zones = zones
        self.cloud = cloud      # only this cloud's hosts' records are touched

    def associate(self, fqdn, ip, dry_run=False):
        """``fqdn`` answers for ``ip``; no other novajoin host does any more.

        Returns the IPA calls made (planned, with ``dry_run``).
        """
        done = self.disassociate(ip, keep=fqdn, dry_run=dry_run)
        where = self.zones.split(fqdn)
        if where is None:
            LOG.warning('no IPA DNS zone holds %s; no A record for floating IP '
                        '%s', fqdn, ip)
            return done
        calls = [('dnsrecord_add', list(where), {'arecord': [ip]})]
        reverse = self.zones.reverse_of(ip)
        if reverse:
            calls.append(('dnsrecord_add', list(reverse),
                          {'ptrrecord': [absolute(fqdn)]}))
        if not dry_run:
            raise_failures(self.ipa.batch(calls))
            LOG.info('DNS: %s -> %s%s', fqdn, ip,
                     ' (and PTR)' if reverse else '')
        return done + calls

    def disassociate(self, ip, keep=None, dry_run=False):
        """Remove ``ip`` from every novajoin host's A record (but ``keep``'s)
        and the matching PTR values; returns the calls (planned if dry)."""
        forward = self.zones.forward()
        reverse = self.zones.reverse_of(ip)
        reads = [('dnsrecord_find', [zone], {'arecord': ip, 'sizelimit': 0})
                 for zone in forward]
        if reverse:
            reads.append(('dnsrecord_show', list(reverse), {}))
        results = self.ipa.batch(reads)
        raise_failures(results, tolerate=(errors.NotFound,))
        names = {}   # fqdn -> (zone, name) holding ip
        for zone, result in zip(forward, results):
            if isinstance(result, Exception):
                continue    # the zone went away since it was listed
            for record in result.get('result', []):
                name = dns_name(record.get('idnsname'))
                if ip in record.get('arecord', []):
                    names[_fqdn(name, zone)] = (zone, name)
        ptrs = []
        if reverse and not isinstance(results[-1], Exception):
            ptrs = [p.rstrip('.').lower() for p in
                    results[-1].get('result', {}).get('ptrrecord', [])]
        keep = keep.lower() if keep else None
        candidates = sorted((set(names) | set(ptrs)) - {keep})
        ours = self._novajoin_hosts(candidates)
        calls = [('dnsrecord_del', list(names[f]), {'arecord': [ip]})
                 for f in candidates if f in ours and f in names]
        calls += [('dnsrecord_del', list(reverse), {'ptrrecord': [absolute(f)]})
                  for f in candidates if f in ours and f in ptrs]
        if calls and not dry_run:
            raise_failures(self.ipa.batch(calls))
            LOG.info('DNS: floating IP %s no longer on %s', ip,
                     ', '.join(f for f in candidates if f in ours))
        return calls

    def a_values(self, fqdns):
        """{fqdn: [A values]} for hosts in IPA zones (one batch call)."""
        where = {f: self.zones.split(f) for f in fqdns}
        where = {f: w for f, w in where.items() if w}
        order = sorted(where)
        results = self.ipa.batch([('dnsrecord_show', list(where[f]), {})
                                  for f in order])
        raise_failures(results, tolerate=(errors.NotFound,))
        return {f: r.get('result', {}).get('arecord', [])
                for f, r in zip(order, results) if not isinstance(r, Exception)}

    def _novajoin_hosts(self, fqdns):
        if not fqdns:
            return set()
        results = self.ipa.batch([('host_show', [f], {}) for f in fqdns])
        raise_failures(results, tolerate=(errors.NotFound,))
        return {f for f, r in zip(fqdns, results)
                if not isinstance(r, Exception)
                and self.cloud.owner(r.get('result', {}))}


def _fqdn(name, zone):
    if name == '@':
        return zone.rstrip('.')
    return ('%s.%s' % (name, zone)).rstrip('.').lower()


def in_ranges(ip, ranges):
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in net for net in ranges
               if net.version == address.version)


def parse_ranges(cidrs):
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]
