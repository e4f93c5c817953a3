"""[service_credentials]: the keystoneauth session (identity, TLS, timeouts)
of novajoin's look-ups in glance, keystone, nova and neutron."""
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from novajoin.conf import base

GROUP = cfg.OptGroup('service_credentials', title='Service credentials',
                     help='Identity novajoin uses to read images, projects and '
                          'servers (keystoneauth1 auth plugin options).')

# Which endpoint of each service: [glance], [keystone], [nova], [neutron]
# (novajoin.conf.clients); region_name and interface here are their
# deprecated names.
OPTS = []


def register_opts(conf):
    base.register(conf, GROUP, OPTS)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts():
    # The sample lists the password plugin's options, the common case.
    opts = (OPTS + ks_loading.get_session_conf_options()
            + ks_loading.get_auth_common_conf_options()
            + ks_loading.get_auth_plugin_conf_options('password'))
    return {GROUP: _unique(opts)}


def _unique(opts):
    seen, out = set(), []
    for opt in opts:
        if opt.dest not in seen:
            seen.add(opt.dest)
            out.append(opt)
    return out
