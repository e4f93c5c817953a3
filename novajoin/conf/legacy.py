"""[DEFAULT] options of novajoin 1.x that mean nothing any more.

novajoin 1.x kept its options in [DEFAULT] of /etc/nova/join.conf. Those that
map to an option of today (``join_listen``, ``join_listen_port``, ``keytab``,
``domain``, ``project_subdomain``, ``connect_retries``) are deprecated names
of it, in their own group's module. These have no counterpart; they are
registered only so that a 1.x join.conf says so at start-up (oslo.config logs
a deprecation warning for each one that is set) instead of being silently
ignored.
"""
from oslo_config import cfg

GROUP = 'DEFAULT'


def _gone(name, reason, opt=cfg.StrOpt):
    return opt(name, deprecated_for_removal=True, deprecated_reason=reason,
               deprecated_since='2.0',
               help='novajoin 1.x option; ignored.')


OPTS = [
    _gone('url', 'IPA servers are [ipa] servers (host names, not a JSON-RPC '
                 'URL).'),
    _gone('service_name', 'novajoin authenticates with [ipa] auth_method and '
                          'finds the IPA servers\' HTTP principal itself.'),
    _gone('normalize_project', 'Project names are always turned into valid DNS '
                               'labels with [join] project_subdomain.',
          cfg.BoolOpt),
    _gone('glance_api_servers', 'glance is found in keystone\'s catalog with '
                                '[service_credentials].', cfg.ListOpt),
    _gone('glance_num_retries', 'keystoneauth retries for glance.', cfg.IntOpt),
    _gone('auth_strategy', 'keystonemiddleware is on unless [api] auth_enabled '
                           '= false (development only).'),
]


def warn_if_set(conf):
    """Read each option: oslo.config logs its deprecation when a file sets it
    (and only when it is read)."""
    for opt in OPTS:
        conf[opt.dest]


def register_opts(conf):
    conf.register_opts(OPTS)


def list_opts():
    return {GROUP: OPTS}
