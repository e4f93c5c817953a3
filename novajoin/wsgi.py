"""WSGI entry point for gunicorn: ``novajoin.wsgi:application``.

The app is built on the first request, in the worker that serves it: importing
this module reads no config and opens no connection. The config file is
$NOVAJOIN_CONFIG_FILE, else /etc/novajoin/join.conf.
"""
import threading


class _LazyApplication:

    def __init__(self):
        self._app = None
        self._lock = threading.Lock()

    def _load(self):
        from novajoin import config
        from novajoin.api import create_app
        return create_app(config.load(prog='novajoin-wsgi'))

    def __call__(self, environ, start_response):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._load()
        return self._app(environ, start_response)


application = _LazyApplication()
