"""Look-ups in other OpenStack services through one keystoneauth session.

The session (identity) is ``[service_credentials]``'s; each service is found
with its keystoneauth adapter options (``[glance]``, ``[keystone]``,
``[nova]``, ``[neutron]``: novajoin.conf.clients). Nothing connects until a
look-up is made.
"""
import datetime
import logging
import time

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from novajoin import validation
from novajoin.cache import BoundedMap
from novajoin.cache import TTLCache

LOG = logging.getLogger(__name__)


class UpstreamError(Exception):
    """Another OpenStack service could not answer (transient: HTTP 503)."""


# requests keeps 10 connections per host; more threads asking nova at once
# each open and throw away one of their own ("Connection pool is full")
_POOL_MIN = 10


def pool_size(conf):
    """Connections kept per service: one per thread that may ask at once
    (novajoin-notify's handler threads, the reconciler's confirmations)."""
    sizes = [_POOL_MIN, conf.notify.reconcile_concurrency]
    try:
        sizes.append(conf.executor_thread_pool_size)
    except cfg.NoSuchOptError:
        pass        # not novajoin-notify: no oslo.messaging options
    return max(sizes)


def session_from_conf(conf):
    group = 'service_credentials'
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    session = ks_loading.load_session_from_conf_options(conf, group, auth=auth)
    # keystoneauth's own adapter (TCP keep-alive, its TLS settings), with
    # room for every thread
    size = pool_size(conf)
    for scheme, old in list(session.session.adapters.items()):
        session.session.mount(scheme, ks_session.TCPKeepAliveAdapter(
            pool_maxsize=size,
            tls_ciphers=getattr(old, 'tls_ciphers', None),
            tls_min_version=getattr(old, 'tls_min_version', None)))
    return session


def adapter_from_conf(conf, group, session):
    """A keystoneauth Adapter for one service: ``group``'s adapter options."""
    return ks_loading.load_adapter_from_conf_options(conf, group,
                                                     session=session)


class Images:
    """Glance image properties, cached for ``ttl`` seconds. ``glance``: a
    keystoneauth Adapter for the image service."""

    def __init__(self, glance, ttl=60, clock=time.monotonic):
        self._glance = glance
        self._cache = TTLCache(ttl)
        self._no_endpoint = BoundedMap(1, ttl=60, clock=clock)  # said once a minute

    def properties(self, image_id):
        """The image's properties, or {} when glance does not know it."""
        return self._cache.get_or_load(image_id, self._load)

    def _load(self, image_id):
        try:
            resp = self._glance.get('/v2/images/%s' % image_id, raise_exc=False)
        except ks_exc.EndpointNotFound as exc:
            # A deployment fault, not an outage: a 503 would cost every
            # instance its vendordata, enrolling or not, until it is fixed.
            # Images then have no properties (metadata still decides).
            if self._no_endpoint.put_if_absent('said'):
                LOG.error('no image service in the catalog ([glance] '
                          'options: %s): image properties (ipa_enroll, '
                          'os_distro) are not read', exc)
            return {}
        except ks_exc.ClientException as exc:
            raise UpstreamError('glance: %s' % exc) from exc
        if resp.status_code == 404:
            LOG.info('image %s not found in glance; no image properties',
                     image_id)
            return {}
        if resp.status_code != 200:
            raise UpstreamError('glance answered HTTP %d for image %s'
                                % (resp.status_code, image_id))
        image = resp.json()
        # Glance v2 puts custom properties at the top level of the image.
        return {k: v for k, v in image.items() if isinstance(v, str)}


class Projects:
    """Keystone project names, cached for ``ttl`` seconds. ``keystone``: a
    keystoneauth Adapter for the identity service (v3)."""

    def __init__(self, keystone, ttl=300):
        self._keystone = keystone
        self._cache = TTLCache(ttl)

    def name(self, project_id):
        return self._cache.get_or_load(project_id, self._load)

    def _load(self, project_id):
        try:
            resp = self._keystone.get('/projects/%s' % project_id,
                                      raise_exc=False)
        except ks_exc.ClientException as exc:
            raise UpstreamError('keystone: %s' % exc) from exc
        if resp.status_code != 200:
            raise UpstreamError('keystone answered HTTP %d for project %s'
                                % (resp.status_code, project_id))
        return resp.json()['project']['name']


def from_conf(conf):
    """(Images, Projects) sharing one session."""
    session = session_from_conf(conf)
    return (Images(adapter_from_conf(conf, 'glance', session),
                   conf.join.image_cache_ttl),
            Projects(adapter_from_conf(conf, 'keystone', session),
                     conf.join.project_cache_ttl))


# -- nova and neutron, for novajoin-notify and the reconciler ---------------

def _transient(service, exc):
    return UpstreamError('%s: %s' % (service, exc))


def _unix_time(text):
    """nova's ISO 8601 time (``2026-12-04T05:40:00Z``) as Unix time, or None."""
    try:
        when = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except (AttributeError, TypeError, ValueError):
        return None
    if when.tzinfo is None:     # nova writes UTC
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


class Servers:
    """Nova servers of every project (python-novaclient, admin credentials)."""

    # 2.69: servers in a cell that is down are listed (partially) instead of
    # being left out, so the reconciler never takes them for deleted ones.
    API_VERSION = '2.69'
    PAGE = 1000             # servers asked for per listing request

    def __init__(self, session, **adapter_kwargs):
        """``adapter_kwargs``: keystoneauth Adapter arguments ([nova])."""
        from novaclient import client as nova_client  # only where it is used
        kwargs = dict(adapter_kwargs)
        # the microversion is API_VERSION; novaclient takes the interface as
        # endpoint_type
        for key in ('version', 'min_version', 'max_version'):
            kwargs.pop(key, None)
        kwargs['endpoint_type'] = kwargs.pop('interface', None) or 'internal'
        self._nova = nova_client.Client(self.API_VERSION, session=session,
                                        **kwargs)

    def ids(self):
        """Ids of every server nova has, in every project."""
        from novaclient import exceptions as nova_exc
        try:
            servers = self._nova.servers.list(
                detailed=False, search_opts={'all_tenants': True}, limit=-1)
        except (nova_exc.ClientException, ks_exc.ClientException) as exc:
            raise _transient('nova', exc) from exc
        return {server.id for server in servers}

    def deleted_pages(self, since=lambda: None):
        """The ids of the servers nova lists as deleted, in every project, a
        page (a set) at a time, newest first, for as long as the caller takes
        them. ``since()`` is asked before each page: Unix time, only servers
        changed (deleted) after it; None, all of them. A caller that learns
        the bound while it lists narrows the pages still to come (nova reads
        the marker's row with read_deleted=yes, whatever the filter).

        ``status=DELETED`` (an admin filter) lists the rows nova keeps of
        deleted servers, and not SOFT_DELETED ones (they can be restored).
        A server whose row nova has archived or purged, or that nova never
        had, is not listed: a GET answers for those.
        """
        from novaclient import exceptions as nova_exc
        marker = None
        while True:
            search = {'all_tenants': True, 'status': 'DELETED'}
            when = since()
            if when is not None:
                search['changes-since'] = datetime.datetime.fromtimestamp(
                    when, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
            try:
                # a page at a time (nova caps a page at its [api] max_limit)
                page = self._nova.servers.list(
                    detailed=False, search_opts=search, marker=marker,
                    limit=self.PAGE)
            except (nova_exc.ClientException, ks_exc.ClientException) as exc:
                raise _transient('nova', exc) from exc
            if not page:
                return
            yield {server.id for server in page}
            marker = page[-1].id

    def details(self):
        """Every server nova has, in every project, as dicts of ``id``,
        ``project``, ``hostname`` (nova's, as sent to vendordata),
        ``metadata`` and ``created`` (Unix time, or None). The hostname is an
        admin attribute before API 2.90."""
        from novaclient import exceptions as nova_exc
        try:
            servers = self._nova.servers.list(
                detailed=True, search_opts={'all_tenants': True}, limit=-1)
        except (nova_exc.ClientException, ks_exc.ClientException) as exc:
            raise _transient('nova', exc) from exc
        return [{'id': server.id,
                 'project': getattr(server, 'tenant_id', None),
                 'hostname': getattr(server, 'OS-EXT-SRV-ATTR:hostname', None),
                 'metadata': getattr(server, 'metadata', None) or {},
                 'created': _unix_time(getattr(server, 'created', None))}
                for server in servers]

    def _get(self, server_id):
        """The server, or None on 404; nova failing is transient."""
        from novaclient import exceptions as nova_exc
        try:
            return self._nova.servers.get(server_id)
        except nova_exc.NotFound:
            return None
        except (nova_exc.ClientException, ks_exc.ClientException) as exc:
            raise _transient('nova', exc) from exc

    def actions(self, server_id):
        """nova's record of what was done to the server (its instance
        actions), newest first: dicts of ``action`` ('rebuild', 'evacuate',
        ...), ``request_id`` (the API request's, matched whole, else None) and
        ``started`` (Unix time, or None). None when nova has no such server."""
        from novaclient import exceptions as nova_exc
        try:
            found = self._nova.instance_action.list(server_id)
        except nova_exc.NotFound:
            return None
        except (nova_exc.ClientException, ks_exc.ClientException) as exc:
            raise _transient('nova', exc) from exc
        out = []
        for action in found:
            request_id = getattr(action, 'request_id', None)
            out.append({
                'action': getattr(action, 'action', None),
                'request_id': request_id if isinstance(request_id, str)
                and validation.REQUEST_ID.fullmatch(request_id) else None,
                'started': _unix_time(getattr(action, 'start_time', None))})
        out.sort(key=lambda a: a['started'] or 0, reverse=True)
        return out

    def exists(self, server_id):
        return self._get(server_id) is not None

    def gone(self, server_id):
        """Whether nova confirms the server is deleted for good.

        True on 404 (nova destroys the instance before it sends
        ``delete.end``) or status DELETED. A SOFT_DELETED server can still be
        restored, so it is not gone. UNKNOWN (its cell is down, API >= 2.69)
        means nova cannot tell: transient, like nova being unreachable.
        """
        server = self._get(server_id)
        if server is None:
            return True
        status = str(getattr(server, 'status', '')).upper()
        if status == 'UNKNOWN':
            raise UpstreamError('nova cannot tell the state of server %s (its '
                                'cell does not answer)' % server_id)
        return status == 'DELETED'


class Network:
    """Neutron look-ups: ports, floating IPs, external subnets.

    Reading other projects' ports and floating IPs needs neutron's admin (or
    service) role for the service user.
    """

    PAGE = 1000
    IDS_PER_QUERY = 100     # ids per ?id=...: keeps the URL under 8 KiB
    PORT_FIELDS = ('id', 'device_id', 'device_owner', 'project_id',
                   'tenant_id', 'fixed_ips')
    FIP_FIELDS = ('id', 'floating_ip_address', 'port_id', 'project_id',
                  'tenant_id', 'port_details')

    def __init__(self, neutron, ttl=600):
        """``neutron``: a keystoneauth Adapter for the network service."""
        self._neutron = neutron
        self._cache = TTLCache(ttl)

    def _get(self, path, **params):
        try:
            resp = self._neutron.get(path, raise_exc=False, params=params)
        except ks_exc.ClientException as exc:
            raise _transient('neutron', exc) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise UpstreamError('neutron answered HTTP %d for %s'
                                % (resp.status_code, path.split('?')[0]))
        return resp.json()

    def port(self, port_id):
        """The port, or None when neutron does not know it."""
        body = self._get('/v2.0/ports/%s' % port_id)
        return body['port'] if body else None

    def ports(self, port_ids):
        """{id: port} of the ports neutron knows among ``port_ids``."""
        ids = sorted(set(port_ids))
        found = {}
        for start in range(0, len(ids), self.IDS_PER_QUERY):
            body = self._get('/v2.0/ports', id=ids[start:start + self.IDS_PER_QUERY],
                             fields=list(self.PORT_FIELDS)) or {}
            found.update((p['id'], p) for p in body.get('ports', []))
        return found

    def ports_with_fixed_ip(self, ip):
        """Ports that hold ``ip`` as a fixed IP (a provider-network server's)."""
        body = self._get('/v2.0/ports', fixed_ips='ip_address=%s' % ip,
                         fields=list(self.PORT_FIELDS)) or {}
        return body.get('ports', [])

    def floating_ips(self, address=None):
        """Floating IPs at ``address`` (normally one), or all of them.

        All of them are read a page at a time (``limit``/``marker``): a
        cloud's whole list in one answer is what times neutron out.
        """
        if address is not None:
            body = self._get('/v2.0/floatingips', floating_ip_address=address,
                             fields=list(self.FIP_FIELDS)) or {}
            return body.get('floatingips', [])
        found, marker = [], None
        while True:
            params = {'limit': self.PAGE, 'fields': list(self.FIP_FIELDS)}
            if marker:
                params['marker'] = marker
            page = (self._get('/v2.0/floatingips', **params) or {}).get(
                'floatingips', [])
            found.extend(page)
            if len(page) < self.PAGE:
                return found
            marker = page[-1]['id']

    def external_cidrs(self):
        """CIDRs of the subnets of external networks (where floating IPs live)."""
        return self._cache.get_or_load('external', self._load_external)

    def _load_external(self, _key):
        nets = (self._get('/v2.0/networks', **{'router:external': True})
                or {}).get('networks', [])
        if not nets:
            return []
        subnets = (self._get('/v2.0/subnets', network_id=[n['id'] for n in nets])
                   or {}).get('subnets', [])
        return [s['cidr'] for s in subnets]


def servers_from_conf(conf):
    """(Servers, Network) from [service_credentials], [nova] and [neutron];
    (None, None) if [service_credentials] is unset."""
    if not conf.service_credentials.auth_type:
        return None, None
    from novajoin.conf import clients
    session = session_from_conf(conf)
    return (Servers(session, **clients.adapter_kwargs(conf, 'nova')),
            Network(adapter_from_conf(conf, 'neutron', session)))
