"""Look-ups in other OpenStack services through one keystoneauth session.

Built from ``[service_credentials]``. Nothing connects until a look-up is made.
"""
import logging

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from novajoin.cache import TTLCache

LOG = logging.getLogger(__name__)


class UpstreamError(Exception):
    """Another OpenStack service could not answer (transient: HTTP 503)."""


def session_from_conf(conf):
    group = 'service_credentials'
    auth = ks_loading.load_auth_from_conf_options(conf, group)
    return ks_loading.load_session_from_conf_options(conf, group, auth=auth)


class Images:
    """Glance image properties, cached for ``ttl`` seconds."""

    def __init__(self, session, ttl=60, interface='internal', region_name=None):
        self._session = session
        self._endpoint = {'service_type': 'image', 'interface': interface,
                          'region_name': region_name}
        self._cache = TTLCache(ttl)

    def properties(self, image_id):
        """The image's properties, or {} when glance does not know it."""
        return self._cache.get_or_load(image_id, self._load)

    def _load(self, image_id):
        try:
            resp = self._session.get('/v2/images/%s' % image_id,
                                     endpoint_filter=self._endpoint,
                                     raise_exc=False)
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
    """Keystone project names, cached for ``ttl`` seconds."""

    def __init__(self, session, ttl=300, interface='internal', region_name=None):
        self._session = session
        self._endpoint = {'service_type': 'identity', 'interface': interface,
                          'region_name': region_name, 'version': (3, 0)}
        self._cache = TTLCache(ttl)

    def name(self, project_id):
        return self._cache.get_or_load(project_id, self._load)

    def _load(self, project_id):
        try:
            resp = self._session.get('/projects/%s' % project_id,
                                     endpoint_filter=self._endpoint,
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
    group = conf.service_credentials
    kwargs = {'interface': group.interface, 'region_name': group.region_name}
    return (Images(session, conf.join.image_cache_ttl, **kwargs),
            Projects(session, conf.join.project_cache_ttl, **kwargs))
