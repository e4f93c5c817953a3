"""novajoin-server: the vendordata API under gunicorn (or ``--dev``).

A config gunicorn cannot serve, or the enroller cannot be built from (bad
OTP secret, no IPA server, half-set or unreadable [api] cert_file/key_file),
stops it at start with exit status 2. With [api] cert_file and key_file it
serves HTTPS only; without them it serves plain HTTP and says so loudly.
"""
import logging
import sys

from oslo_config import cfg

from novajoin import config

LOG = logging.getLogger(__name__)

CLI_OPTS = [
    cfg.BoolOpt('dev', default=False,
                help='Development mode: no keystone, an in-process IPA '
                     'stand-in, a random OTP secret. Not for production.'),
    cfg.PortOpt('port', help='Override [api] bind_port.'),
]


def _gunicorn(conf, tls=None):
    from gunicorn.app.base import BaseApplication

    from novajoin.api import create_app

    class Application(BaseApplication):
        def load_config(self):
            from novajoin.conf import api as api_conf
            settings = api_conf.gunicorn_settings(conf, tls, conf.port)
            for key, value in settings.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            # Runs in each worker after the fork: every worker has its own
            # IPA session and locks.
            return create_app(conf)

    return Application()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = config.load(argv, prog='novajoin-server', cli_opts=CLI_OPTS)
    if conf.dev:
        from novajoin.dev import mode
        mode.run(conf, '127.0.0.1', conf.port or conf.api.bind_port)
        return 0
    try:
        from novajoin.api.app import build_enroller
        from novajoin.conf import api as api_conf
        tls = api_conf.tls_files(conf)
        build_enroller(conf)  # fail now, not on the first request
    except ValueError as exc:
        LOG.error('cannot start: %s', exc)
        print('novajoin-server: %s' % exc, file=sys.stderr)
        return 2
    LOG.log(*api_conf.transport_notice(conf, tls, conf.port))
    _gunicorn(conf, tls).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
