"""[api]: the HTTP server novajoin-server runs (gunicorn)."""
from oslo_config import cfg

from novajoin.conf import base

GROUP = cfg.OptGroup('api', title='API server',
                     help='Where and how novajoin-server serves the vendordata API.')

OPTS = [
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       help='Address to listen on.'),
    cfg.PortOpt('bind_port', default=9090, help='Port to listen on.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='gunicorn worker processes. One is enough: novajoin waits on '
                    'IPA, not on CPU. Each worker has its own [ipa] max_in_flight '
                    'and its own memory of the hosts it has seen, so more workers '
                    'mean more concurrent IPA calls and more repeated fetches that '
                    'cost two IPA calls instead of one.'),
    cfg.IntOpt('threads', default=32, min=1,
               help='Threads per worker. A thread waiting for an IPA slot costs '
                    'little, so this can be well above [ipa] max_in_flight.'),
    cfg.IntOpt('timeout', default=30, min=5,
               help='gunicorn worker timeout, seconds.'),
    cfg.BoolOpt('auth_enabled', default=True,
                help='Put keystonemiddleware auth_token in front of the API. Turn '
                     'off only for development: every caller is then trusted.'),
]


def register_opts(conf):
    base.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
