"""The wrappers in front of the Flask app: /healthcheck answered before auth,
public paths bypass keystone, the rest goes through it."""
from novajoin import conf as conf_pkg
from novajoin.api import middleware


def app_named(name):
    def app(environ, start_response):
        start_response('200 OK', [])
        return [name.encode()]
    return app


def call(wsgi, path, **environ):
    environ.update({'PATH_INFO': path, 'REQUEST_METHOD': 'GET',
                    'SERVER_NAME': 'novajoin.example.test', 'SERVER_PORT': '9090',
                    'wsgi.url_scheme': 'http'})
    return b''.join(wsgi(environ, lambda *a: None))


def test_public_paths_skip_auth():
    wsgi = middleware.PublicPaths(app_named('bare'), app_named('guarded'))
    assert call(wsgi, '/metrics') == b'bare'
    assert call(wsgi, '/v1/') == b'guarded'
    assert call(wsgi, '/metrics/../v1/') == b'guarded'
    # answered before auth now (Healthcheck), never by the Flask app
    assert call(wsgi, '/healthcheck') == b'guarded'


def _conf(**healthcheck):
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    for name, value in healthcheck.items():
        c.set_override(name, value, group='healthcheck')
    return c


def test_only_the_healthcheck_path_is_answered_before_auth(tmp_path):
    wsgi = middleware.Healthcheck(app_named('auth'),
                                  _conf(disable_by_file_path=str(tmp_path / 'off')))
    assert call(wsgi, '/healthcheck') == b'OK'
    for path in ('/v1/', '/metrics', '/healthcheck/', '/healthcheck/../v1/'):
        assert call(wsgi, path) == b'auth', path


def test_a_healthcheck_from_outside_the_allowed_ranges_goes_to_auth(tmp_path):
    wsgi = middleware.Healthcheck(app_named('auth'), _conf(
        disable_by_file_path=str(tmp_path / 'off'),
        allowed_source_ranges=['192.0.2.0/24']))
    assert call(wsgi, '/healthcheck', REMOTE_ADDR='192.0.2.7') == b'OK'
    assert call(wsgi, '/healthcheck', REMOTE_ADDR='198.51.100.7') == b'auth'


def test_trust_everyone_overrides_any_sent_identity():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []
    middleware.TrustEveryone(app)({'HTTP_X_USER_NAME': 'mallory'}, None)
    assert seen['HTTP_X_USER_NAME'] == 'nova'
    assert seen['HTTP_X_IDENTITY_STATUS'] == 'Confirmed'
