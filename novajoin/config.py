"""Loading join.conf for the console scripts and the WSGI entry point."""
import os

from oslo_log import log

from novajoin import conf as conf_pkg
from novajoin.conf import legacy

DEFAULT_CONFIG = '/etc/novajoin/join.conf'


def default_config_files():
    path = os.environ.get('NOVAJOIN_CONFIG_FILE') or DEFAULT_CONFIG
    return [path] if os.path.exists(path) else []


def load(argv=(), prog=None, cli_opts=(), setup_logging=True):
    """A ConfigOpts with every option registered and the files parsed."""
    conf = conf_pkg.new_conf()
    log.register_options(conf)
    conf.register_cli_opts(list(cli_opts))
    conf(list(argv), project='novajoin', prog=prog,
         default_config_files=default_config_files())
    if setup_logging:
        log.setup(conf, 'novajoin')
    legacy.warn_if_set(conf)
    return conf
