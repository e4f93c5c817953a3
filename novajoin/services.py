"""TripleO-style service requests in server metadata.

- ``managed_service_<any>`` = ``<service>/<host fqdn>``: a service on a shared
  (VIP) host that the instance's host may manage.
- ``compact_service_<service>`` = JSON list of networks, and the legacy
  ``compact_services`` = JSON object ``{service: [networks]}``: for each
  network a subhost ``<short>.<network>.<domain>`` and the service principal on
  it, both managed by the instance's host.

``requested_services`` turns metadata into (subhosts, principals) with every
name checked, before anything is sent to IPA.
"""
import json

from novajoin import validation
from novajoin.validation import BadRequest


class ServiceRequest:
    __slots__ = ('subhosts', 'principals')

    def __init__(self, subhosts, principals):
        self.subhosts = subhosts        # sorted fqdns of hosts to manage
        self.principals = principals    # sorted 'service/fqdn'

    def __bool__(self):
        return bool(self.subhosts or self.principals)

    def __eq__(self, other):
        return (self.subhosts, self.principals) == (other.subhosts,
                                                    other.principals)


def compact_services(metadata):
    """{service: [networks]} from both compact forms, legacy merged first."""
    out = {}
    if 'compact_services' in metadata:
        try:
            legacy = json.loads(metadata['compact_services'])
        except ValueError:
            raise BadRequest('compact_services is not valid JSON')
        if not isinstance(legacy, dict):
            raise BadRequest('compact_services must be a JSON object of '
                             '{service: [networks]}')
        for service, networks in legacy.items():
            out.setdefault(service, []).extend(_networks(service, networks))
    for key, value in metadata.items():
        if key.startswith('compact_service_'):
            service = key[len('compact_service_'):]
            try:
                networks = json.loads(value)
            except ValueError:
                raise BadRequest('%s is not valid JSON' % key)
            out.setdefault(service, []).extend(_networks(service, networks))
    return out


def _networks(service, networks):
    if not isinstance(networks, list) or not all(isinstance(n, str)
                                                 for n in networks):
        raise BadRequest('networks of service %r must be a JSON list of '
                         'strings' % (service,))
    return networks


def requested_services(metadata, short_name, domain):
    subhosts, principals = set(), set()
    for service, networks in compact_services(metadata).items():
        validation.check_service_name(service)
        for network in networks:
            validation.check_label(network.lower(), 'network name')
            host = validation.check_fqdn('%s.%s.%s' % (short_name, network,
                                                       domain), 'subhost name')
            subhosts.add(host)
            principals.add('%s/%s' % (service, host))
    for key, value in metadata.items():
        if key.startswith('managed_service_'):
            service, sep, host = value.partition('/')
            if not sep:
                raise BadRequest('%s must be <service>/<host fqdn>, not %r'
                                 % (key, value[:100]))
            validation.check_service_name(service)
            host = validation.check_fqdn(host.partition('@')[0],
                                         'host of %s' % key)
            subhosts.add(host)
            principals.add('%s/%s' % (service, host))
    return ServiceRequest(sorted(subhosts), sorted(principals))
