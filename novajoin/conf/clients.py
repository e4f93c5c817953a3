"""[glance], [keystone], [nova], [neutron]: where novajoin finds each service.

keystoneauth's adapter options (``service_type``, ``valid_interfaces``,
``region_name``, ``endpoint_override``, ``version``, retries, ...), one group
per service, as nova and other OpenStack services name them; the identity is
``[service_credentials]``'s, shared by all. Earlier names keep working with a
deprecation warning: ``[service_credentials] interface`` and ``region_name``
(for every service), ``[notify] compute_endpoint_override`` and
``network_endpoint_override``.
"""
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from novajoin.conf import base

# group -> (service type, what novajoin asks it, defaults beyond the type)
SERVICES = {
    'glance': ('image', 'image properties (ipa_enroll, os_distro, os_version) '
                        'for novajoin-server', {}),
    'keystone': ('identity', 'project names for [join] project_subdomain',
                 {'version': '3'}),
    'nova': ('compute', 'whether servers exist, for novajoin-notify and '
                        'novajoin-reconcile', {}),
    'neutron': ('network', 'ports and floating IPs, for novajoin-notify and '
                           'novajoin-reconcile', {}),
}
_OLD_OVERRIDES = {'nova': 'compute_endpoint_override',
                  'neutron': 'network_endpoint_override'}

GROUPS = {name: cfg.OptGroup(name, title='%s (%s)' % (name, service_type),
                             help='Where novajoin finds %s: %s. keystoneauth '
                                  'adapter options; the identity is '
                                  '[service_credentials]\'s.' % (
                                      service_type, what))
          for name, (service_type, what, _) in SERVICES.items()}


def opts(name):
    """Fresh adapter options of one group, with novajoin's defaults."""
    service_type, _, defaults = SERVICES[name]
    deprecated = {
        'valid_interfaces': [cfg.DeprecatedOpt('interface',
                                               group='service_credentials')],
        'region_name': [cfg.DeprecatedOpt('region_name',
                                          group='service_credentials')]}
    if name in _OLD_OVERRIDES:
        deprecated['endpoint_override'] = [
            cfg.DeprecatedOpt(_OLD_OVERRIDES[name], group='notify')]
    group_opts = ks_loading.get_adapter_conf_options(
        include_deprecated=False, deprecated_opts=deprecated)
    cfg.set_defaults(group_opts, service_type=service_type,
                     valid_interfaces=['internal'], **defaults)
    return group_opts


def register_opts(conf):
    for name, group in GROUPS.items():
        base.register(conf, group, opts(name))


def list_opts():
    return {group: opts(name) for name, group in GROUPS.items()}


def adapter_kwargs(conf, name):
    """keystoneauth Adapter arguments of one group (for python-novaclient,
    which builds its own adapter)."""
    from keystoneauth1.loading import adapter as ks_adapter
    kwargs = {}
    ks_adapter.process_conf_options(conf[name], kwargs)
    return kwargs
