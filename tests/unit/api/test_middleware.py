"""The auth wrapper: public paths bypass keystone, the rest goes through it."""
from novajoin.api import middleware


def app_named(name):
    def app(environ, start_response):
        start_response('200 OK', [])
        return [name.encode()]
    return app


def call(wsgi, path):
    return b''.join(wsgi({'PATH_INFO': path, 'REQUEST_METHOD': 'GET'},
                         lambda *a: None))


def test_public_paths_skip_auth():
    wsgi = middleware.PublicPaths(app_named('bare'), app_named('guarded'))
    assert call(wsgi, '/healthcheck') == b'bare'
    assert call(wsgi, '/metrics') == b'bare'
    assert call(wsgi, '/v1/') == b'guarded'
    assert call(wsgi, '/healthcheck/../v1/') == b'guarded'


def test_trust_everyone_overrides_any_sent_identity():
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []
    middleware.TrustEveryone(app)({'HTTP_X_USER_NAME': 'mallory'}, None)
    assert seen['HTTP_X_USER_NAME'] == 'nova'
    assert seen['HTTP_X_IDENTITY_STATUS'] == 'Confirmed'
