"""IPA's DNS zones, and reading batch results of DNS (and other) calls.

What the removal of a host needs (its A/AAAA and PTR records live in the
longest IPA zone its name ends with); the floating-IP records of
``novajoin.notify.dns`` build on it.
"""
import ipaddress
import threading
import time

from novajoin.ipa import errors

# Answers that mean "already so": the wanted state is there.
ALREADY = (errors.NotFound, errors.EmptyModlist, errors.AttrValueNotFound,
           errors.DuplicateEntry)


def dns_name(value):
    """A DNS name as IPA returns it (``{"__dns_name__": ...}``) or as a string."""
    if isinstance(value, list):
        value = value[0] if value else ''
    if isinstance(value, dict):
        value = value.get('__dns_name__', '')
    return value


def absolute(name):
    return name if name.endswith('.') else name + '.'


def raise_failures(results, tolerate=ALREADY):
    """Raise the first error of a batch that is not in ``tolerate``.

    Transient errors first: the whole notification is retried, and every
    operation here is idempotent.
    """
    failures = [r for r in results if isinstance(r, Exception)
                and not isinstance(r, tolerate)]
    failures.sort(key=lambda exc: not getattr(exc, 'transient', False))
    if failures:
        raise failures[0]


class Zones:
    """IPA's DNS zones, read at most every ``ttl`` seconds."""

    def __init__(self, ipa, ttl=300, clock=time.monotonic):
        self._ipa = ipa
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._zones = None
        self._expires = 0.0

    def all(self):
        with self._lock:
            if self._zones is None or self._clock() >= self._expires:
                self._zones = self._load()
                self._expires = self._clock() + self._ttl
            return self._zones

    def _load(self):
        try:
            result = self._ipa.call('dnszone_find', pkey_only=True, sizelimit=0)
        except errors.NotFound:  # IPA without DNS: "DNS is not configured"
            return []
        return [absolute(dns_name(z.get('idnsname'))).lower()
                for z in result.get('result', [])]

    def forward(self):
        return [z for z in self.all() if not _is_reverse(z)]

    def reverse(self):
        return [z for z in self.all() if _is_reverse(z)]

    def split(self, fqdn):
        """(zone, relative name) of an FQDN in IPA's forward zones, or None."""
        return _split(absolute(fqdn.lower()), self.forward())

    def reverse_of(self, ip):
        """(reverse zone, relative name) of an IP's PTR record, or None."""
        pointer = absolute(ipaddress.ip_address(ip).reverse_pointer)
        return _split(pointer, self.reverse())


def _is_reverse(zone):
    return zone.endswith('.in-addr.arpa.') or zone.endswith('.ip6.arpa.')


def _split(name, zones):
    best = None
    for zone in zones:
        if name.endswith('.' + zone) and (best is None or len(zone) > len(best)):
            best = zone
    if best is None:
        return None
    return best, name[:-len(best) - 1]
