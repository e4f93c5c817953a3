"""Flask app factory: ``create_app(conf)``."""
import logging
import os

import flask

from novajoin import audit
from novajoin import join
from novajoin import metrics
from novajoin import openstack
from novajoin import otp
from novajoin import policy
from novajoin import validation
from novajoin.api import context
from novajoin.api import health
from novajoin.api import middleware
from novajoin.api.responses import error_response
from novajoin.api import vendordata
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.ipa import IPAClient
from novajoin.ipa import ca
from novajoin.ipa import errors

LOG = logging.getLogger(__name__)


def build_enroller(conf, ipa=None):
    """An Enroller wired from the config. Connects to nothing yet."""
    ipa = ipa or IPAClient.from_conf(conf)
    images = projects = None
    if conf.service_credentials.auth_type:
        images, projects = openstack.from_conf(conf)
    else:
        LOG.warning('[service_credentials] is not set: image properties cannot '
                    'be read, so only server metadata ipa_enroll decides')
    return join.Enroller(
        ipa, otp.source_from_conf(conf),
        join.IPAIdentity(ipa, conf.ipa.realm, conf.ipa.domain),
        images=images, projects=projects, domain=conf.join.domain,
        project_subdomain=conf.join.project_subdomain,
        required_boot_roles=conf.join.required_boot_roles,
        allowed_hostclasses=conf.join.allowed_hostclasses,
        project_hostclasses=conf.join.project_hostclasses,
        servers=conf.ipa.servers, request_deadline=conf.join.request_deadline,
        answer_ttl=conf.join.answer_cache_ttl,
        max_host_name_length=conf.join.max_host_name_length,
        cloud=records.cloud_from_conf(conf),
        service_rules=services.rules_from_conf(conf),
        ca_cert=guest_ca_cert(conf),
        audit=audit.from_conf(conf, 'novajoin-server'))


def guest_ca_cert(conf):
    """The CA bundle guests get with their OTP, or None (see
    [join] send_ca_cert). Raises ValueError for a ca_file that is not PEM."""
    if not conf.join.send_ca_cert:
        return None
    if not conf.ipa.ca_file or not os.path.exists(conf.ipa.ca_file):
        LOG.warning('[ipa] ca_file %s does not exist: guests get no CA with '
                    'their OTP and ipa-client-install downloads it over plain '
                    'HTTP (trust on first use)', conf.ipa.ca_file)
        return None
    return ca.load_bundle(conf.ipa.ca_file)


def create_app(conf, enroller=None):
    app = flask.Flask('novajoin')
    app.extensions['novajoin'] = {
        'conf': conf,
        'enroller': enroller or build_enroller(conf),
        'enforcer': policy.enforcer(conf),
    }
    app.before_request(context.bind)
    app.register_blueprint(vendordata.blueprint)
    app.register_blueprint(health.blueprint)
    _register_errors(app)
    if conf.api.auth_enabled:
        app.wsgi_app = middleware.keystone(app.wsgi_app, conf)
    else:
        app.wsgi_app = middleware.TrustEveryone(app.wsgi_app)
    app.wsgi_app = middleware.Healthcheck(app.wsgi_app, conf)
    app.wsgi_app = middleware.request_ids(app.wsgi_app)
    return app


# exception -> (HTTP status, metrics outcome, log level)
_ERRORS = [
    (validation.BadRequest, 400, 'bad_request', logging.INFO),
    (join.Refused, 403, 'refused', logging.WARNING),
    (join.Conflict, 409, 'conflict', logging.WARNING),
    # load shed: said at once rather than left to nova's read timeout
    (join.Overloaded, 503, 'shed', logging.WARNING),
    (errors.IPABusy, 503, 'shed', logging.WARNING),
    (errors.IPAUnavailable, 503, 'ipa_unavailable', logging.ERROR),
    (errors.IPAError, 502, 'ipa_error', logging.ERROR),
    (openstack.UpstreamError, 503, 'upstream_error', logging.ERROR),
    # an operator dropped a previous OTP secret too early
    (otp.UnknownKey, 500, 'otp_key_gone', logging.ERROR),
]


def _register_errors(app):
    def make_handler(status, outcome, level):
        def handler(exc):
            metrics.REQUESTS.labels(outcome=outcome).inc()
            LOG.log(level, '%s %s -> %d: %s', flask.request.method,
                    flask.request.path, status, exc)
            return error_response(status, str(exc))
        return handler

    for exc_class, status, outcome, level in _ERRORS:
        app.register_error_handler(exc_class,
                                   make_handler(status, outcome, level))

    @app.errorhandler(404)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def http_error(exc):
        return error_response(exc.code, exc.description)

    @app.errorhandler(Exception)
    def unexpected(exc):
        if hasattr(exc, 'code') and hasattr(exc, 'description'):
            return error_response(exc.code, exc.description)
        metrics.REQUESTS.labels(outcome='internal_error').inc()
        LOG.exception('unexpected error in %s %s', flask.request.method,
                      flask.request.path)
        return error_response(500, 'internal error; see the novajoin log')
