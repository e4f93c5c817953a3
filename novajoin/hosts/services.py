"""TripleO-style service requests in server metadata.

- ``managed_service_<any>`` = ``<service>/<host fqdn>``: a service on a shared
  (VIP) host that the instance's host may manage.
- ``compact_service_<service>`` = JSON list of networks, and the legacy
  ``compact_services`` = JSON object ``{service: [networks]}``: for each
  network a subhost ``<short>.<network>.<domain>`` and the service principal on
  it, both managed by the instance's host.

``requested_services`` turns metadata into (subhosts, principals) with every
name checked, before anything is sent to IPA. ``ServiceRules`` then says
whether the project may have them at all: services are a privilege of the
projects an operator names (TripleO's undercloud), limited to allowed service
types, and every subhost stays inside the requesting host's own domain. The
same rules guard enrollment (novajoin-server) and metadata updates
(novajoin-notify).
"""
import json

from novajoin import validation
from novajoin.hosts.errors import Refused
from novajoin.ipa.client import server_host
from novajoin.validation import BadRequest

# What TripleO asks for (tripleo-heat-templates' compact_service_* and
# managed_service_* metadata).
DEFAULT_SERVICE_TYPES = (
    'HTTP', 'haproxy', 'mysql', 'rabbitmq', 'redis', 'etcd', 'libvirt',
    'libvirt-vnc', 'qemu', 'novnc-proxy', 'neutron_ovn', 'ovn_controller',
    'ovn_dbs', 'ovn_metadata', 'metrics_qdr', 'ceph_rgw', 'ceph_dashboard',
    'ceph_grafana', 'ceph_alertmanager', 'ceph_prometheus', 'nova_api')
# Principals IPA, Kerberos or Samba themselves use: whoever manages one of
# these can impersonate the realm's infrastructure. Refused even when an
# operator lists them (compared case-insensitively).
RESERVED_SERVICE_TYPES = frozenset(s.lower() for s in (
    'krbtgt', 'kadmin', 'K', 'kiprop', 'changepw', 'ldap', 'host', 'cifs',
    'dns', 'ipa', 'ipa-dnskeysyncd', 'ipa-ods-exporter', 'dogtag', 'nfs',
    'afs', 'HTTP-ipa', 'ipa-hsm'))


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
            validation.check_label(validation.lower_name(network, 'network name'),
                                   'network name')
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


class ServiceRules:
    """Who may ask for which services, and where their subhosts may live.

    ``projects``: ids of the projects allowed to request services (empty:
    none). ``types``: allowed service names (never a reserved one).
    ``ipa_servers``: names that are never a subhost.
    """

    def __init__(self, projects=(), types=DEFAULT_SERVICE_TYPES,
                 ipa_servers=(), max_host_name_length=64):
        self.projects = frozenset(projects)
        self.max_host_name_length = max_host_name_length
        reserved = sorted(t for t in types if t.lower() in RESERVED_SERVICE_TYPES)
        if reserved:
            raise ValueError('[join] service_types lists %s, which IPA itself '
                             'uses; novajoin never creates those'
                             % ', '.join(reserved))
        self.types = frozenset(types)
        self.ipa_servers = frozenset(server_host(s).lower() for s in ipa_servers)

    def check(self, project_id, fqdn, wanted):
        """Raise ``Refused`` unless ``project_id``'s host ``fqdn`` may have
        every subhost and principal of ``wanted`` (a ServiceRequest);
        ``BadRequest`` for a subhost name longer than IPA allows."""
        if not wanted:
            return
        if project_id not in self.projects:
            raise Refused('project %s may not request TripleO services '
                          '([join] service_projects)' % project_id)
        for principal in wanted.principals:
            service = principal.partition('/')[0]
            if service not in self.types:
                raise Refused('service type %r is not allowed ([join] '
                              'service_types)' % service)
        domain = fqdn.partition('.')[2]
        for host in wanted.subhosts:
            if host == fqdn:
                continue
            if not host.endswith('.' + domain):
                raise Refused('service host %s is outside %s, the domain of '
                              '%s' % (host, domain, fqdn))
            if host in self.ipa_servers:
                raise Refused('service host %s is an IPA server' % host)
        for host in wanted.subhosts:
            check_length(host, self.max_host_name_length, 'service host name')


def check_length(fqdn, limit, what='host name'):
    """IPA's ipamaxhostnamelength (64 by default) is far below DNS's 253;
    refused here, the caller gets a 400 naming it instead of IPA's 502."""
    if len(fqdn) > limit:
        raise BadRequest('%s %r is %d characters long; IPA allows at most %d '
                         '([join] max_host_name_length)'
                         % (what, fqdn, len(fqdn), limit))


def rules_from_conf(conf):
    """The rules of [join] service_projects, service_types and
    max_host_name_length, with [ipa] servers: one build for API and notify."""
    return ServiceRules(conf.join.service_projects, conf.join.service_types,
                        conf.ipa.servers, conf.join.max_host_name_length)
