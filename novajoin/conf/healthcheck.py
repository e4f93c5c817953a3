"""[healthcheck]: oslo.middleware's ``Healthcheck`` at GET /healthcheck, with
novajoin's defaults.

The options are oslo.middleware's own (the sample config lists them under its
namespace ``oslo.middleware.healthcheck``). novajoin registers them on its
ConfigOpts and changes two defaults: the ``disable_by_file`` backend, watching
DISABLE_FILE. ``touch`` that file and /healthcheck answers 503, so the load
balancer drains this replica before maintenance; ``rm`` it and the replica is
back in.
"""
import itertools

from oslo_config import cfg
from oslo_middleware.healthcheck import opts as healthcheck_opts

from novajoin.conf import base

GROUP = cfg.OptGroup('healthcheck', title='Healthcheck',
                     help='GET /healthcheck, for load balancers (no token).')

# What oslo.middleware's Healthcheck and its backends register when loaded;
# registered here too so that join.conf values are checked at start and the
# defaults below can be set.
OPTS = list(itertools.chain(healthcheck_opts.HEALTHCHECK_OPTS,
                            healthcheck_opts.DISABLE_BY_FILE_OPTS,
                            healthcheck_opts.DISABLE_BY_FILES_OPTS,
                            healthcheck_opts.ENABLE_BY_FILES_OPTS))

DISABLE_FILE = '/var/lib/novajoin/healthcheck_disable'

# Only the drain switch: no backend looks at IPA, on purpose. During an IPA
# outage novajoin's 503s tell nova what is wrong; failing the healthcheck
# would take every replica out of the load balancer and turn those answers
# into connection errors. ``detailed`` stays oslo.middleware's false: no
# internals for anonymous callers.
DEFAULTS = {'backends': ['disable_by_file'],
            'disable_by_file_path': DISABLE_FILE}


def register_opts(conf):
    base.register(conf, GROUP, OPTS)
    for name, value in DEFAULTS.items():
        conf.set_default(name, value, group=GROUP.name)


def list_opts():
    # In the sample under oslo.middleware's namespace, with DEFAULTS shown
    # through set_lib_defaults.
    return {}


def set_lib_defaults():
    """oslo-config-generator's ``oslo.config.opts.defaults`` hook: the sample
    shows novajoin's defaults. It changes oslo.middleware's option objects for
    the whole process, so only the generator calls it; the service uses
    register_opts, which sets them on its own ConfigOpts."""
    cfg.set_defaults(OPTS, **DEFAULTS)
