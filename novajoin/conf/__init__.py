"""Configuration: one module per option group, gathered by ``register_opts``."""
from oslo_config import cfg

from novajoin.conf import api
from novajoin.conf import clients
from novajoin.conf import healthcheck
from novajoin.conf import ipa
from novajoin.conf import join
from novajoin.conf import legacy
from novajoin.conf import notify
from novajoin.conf import service_credentials

# Each module exposes register_opts(conf) and list_opts(); the order here is the
# order of the sample config file.
MODULES = (join, api, healthcheck, ipa, service_credentials, clients, notify,
           legacy)


def register_opts(conf):
    for module in MODULES:
        module.register_opts(conf)


def new_conf():
    """A fresh ConfigOpts with every novajoin option registered.

    Tests and each console script use their own instance, so nothing is shared
    between them through a process-wide singleton.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    return conf
