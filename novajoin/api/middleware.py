"""What stands in front of the Flask app: request ids, then /healthcheck
(oslo.middleware ``Healthcheck``), then keystone auth (or dev-mode trust).

Every request gets a request id (oslo.middleware ``RequestId``: a new
``req-<uuid>``, returned as ``x-openstack-request-id``; the caller's valid
``X-OpenStack-Request-ID``, e.g. nova's, becomes the global request id), and
``context.bind`` makes an oslo.context ``RequestContext`` of it and of the
identity keystonemiddleware confirmed: oslo.log puts both ids on every line
logged while the request is served.
"""
import logging

from oslo_middleware import healthcheck as oslo_healthcheck
from oslo_middleware import request_id

LOG = logging.getLogger(__name__)

# Served by the Flask app without a token: Prometheus has none.
# (/healthcheck is answered before auth, see Healthcheck.)
PUBLIC_PATHS = frozenset(['/metrics'])


class PublicPaths:
    """Send PUBLIC_PATHS to the bare app, everything else through ``guarded``."""

    def __init__(self, app, guarded):
        self.app = app
        self.guarded = guarded

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '') in PUBLIC_PATHS:
            return self.app(environ, start_response)
        return self.guarded(environ, start_response)


class Healthcheck:
    """/healthcheck answered by oslo.middleware's Healthcheck, configured from
    ``conf`` [healthcheck]; every other path goes to ``app``.

    In front of auth: load balancers have no token. oslo.middleware's
    Healthcheck is an application that answers whatever reaches it, hence the
    path test here. A request it ignores (``allowed_source_ranges``,
    ``ignore_proxied_requests``) goes on to ``app``, and auth.
    """

    PATH = '/healthcheck'

    def __init__(self, app, conf):
        self.app = app
        self.check = oslo_healthcheck.Healthcheck(app, conf)

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '') == self.PATH:
            return self.check(environ, start_response)
        return self.app(environ, start_response)


def request_ids(app):
    """Outermost: even a 401 from keystonemiddleware, or a /healthcheck
    answer, carries an id."""
    return request_id.RequestId(app)


def keystone(app, conf):
    """keystonemiddleware auth_token around ``app``, configured from conf."""
    from keystonemiddleware import auth_token
    guarded = auth_token.AuthProtocol(app, {'oslo_config_config': conf,
                                            'delay_auth_decision': False})
    return PublicPaths(app, guarded)


class TrustEveryone:
    """Development only: every caller is taken to be nova's service user."""

    IDENTITY = {'HTTP_X_IDENTITY_STATUS': 'Confirmed',
                'HTTP_X_USER_NAME': 'nova', 'HTTP_X_USER_ID': 'dev-nova',
                'HTTP_X_PROJECT_NAME': 'service', 'HTTP_X_PROJECT_ID': 'dev-service',
                'HTTP_X_ROLES': 'service'}

    def __init__(self, app):
        LOG.warning('AUTHENTICATION IS OFF ([api] auth_enabled = false): every '
                    'caller is trusted as nova. Development only.')
        self.app = app

    def __call__(self, environ, start_response):
        environ.update(self.IDENTITY)
        return self.app(environ, start_response)
