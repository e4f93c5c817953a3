"""Each service's keystoneauth adapter options, and their earlier names."""
import logging

import pytest
from keystoneauth1 import session as ks_session

from novajoin import conf as conf_pkg
from novajoin import openstack
from novajoin.conf import clients
from novajoin.notify import listener


def load(tmp_path, text=''):
    path = tmp_path / 'join.conf'
    path.write_text(text)
    c = conf_pkg.new_conf()
    c(['--config-file', str(path)], project='novajoin', default_config_files=[])
    return c


def test_each_service_has_its_type_and_the_internal_interface_by_default(tmp_path):
    c = load(tmp_path)
    assert {name: (c[name].service_type, c[name].valid_interfaces)
            for name in clients.SERVICES} == {
        'glance': ('image', ['internal']), 'keystone': ('identity', ['internal']),
        'nova': ('compute', ['internal']), 'neutron': ('network', ['internal'])}
    assert c.keystone.version == '3'


def test_the_earlier_option_names_still_work_and_warn(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    c = load(tmp_path, '[service_credentials]\ninterface = public\n'
                       'region_name = R2\n[notify]\n'
                       'compute_endpoint_override = http://nova.test/v2.1\n'
                       'network_endpoint_override = http://neutron.test\n')
    for name in clients.SERVICES:
        assert (c[name].valid_interfaces, c[name].region_name) == (['public'], 'R2')
    assert c.nova.endpoint_override == 'http://nova.test/v2.1'
    assert c.neutron.endpoint_override == 'http://neutron.test'
    assert c.glance.endpoint_override is None
    for old, new in [('interface', '"valid-interfaces" from group "glance"'),
                     ('compute_endpoint_override',
                      '"endpoint-override" from group "nova"')]:
        assert 'Option "%s" from group' % old in caplog.text and new in caplog.text


def test_the_new_names_win_over_the_earlier_ones(tmp_path):
    c = load(tmp_path, '[service_credentials]\ninterface = public\n'
                       '[nova]\nvalid_interfaces = admin\n')
    assert c.nova.valid_interfaces == ['admin']
    assert c.glance.valid_interfaces == ['public']


PASSWORD = ('[service_credentials]\nauth_type = password\n'
            'auth_url = http://keystone.test/v3\nusername = nova\npassword = x\n'
            'project_name = service\nuser_domain_name = Default\n'
            'project_domain_name = Default\n')


def test_the_clients_are_built_from_their_groups(tmp_path):
    c = load(tmp_path, PASSWORD + ('[glance]\nregion_name = R3\n'
                                   '[neutron]\nendpoint_override = '
                                   'http://neutron.test\n'
                                   '[nova]\nvalid_interfaces = public\n'))
    images, projects = openstack.from_conf(c)
    assert (images._glance.service_type, images._glance.region_name) == (
        'image', 'R3')
    assert projects._keystone.service_type == 'identity'
    servers, network = openstack.servers_from_conf(c)
    assert network._neutron.endpoint_override == 'http://neutron.test'
    assert servers._nova.client.interface in ('public', ['public'])
    assert servers._nova.client.service_type == 'compute'


def _pool_sizes(session):
    return {scheme: adapter._pool_maxsize
            for scheme, adapter in session.session.adapters.items()}


def test_the_session_keeps_a_connection_for_every_reconciler_thread(tmp_path):
    c = load(tmp_path, PASSWORD + '[notify]\nreconcile_concurrency = 24\n')
    session = openstack.session_from_conf(c)
    assert _pool_sizes(session) == {'https://': 24, 'http://': 24}
    # still keystoneauth's adapter: TCP keep-alive
    assert all(isinstance(a, ks_session.TCPKeepAliveAdapter)
               for a in session.session.adapters.values())


def test_the_session_keeps_a_connection_for_every_handler_thread(tmp_path):
    c = load(tmp_path, PASSWORD)
    listener.set_defaults(c)        # novajoin-notify: 32 handler threads
    assert openstack.pool_size(c) == 32
    assert set(_pool_sizes(openstack.session_from_conf(c)).values()) == {32}


@pytest.mark.parametrize('name', sorted(clients.SERVICES))
def test_every_group_is_in_the_sample(name):
    listed = {group.name for group in clients.list_opts()}
    assert name in listed
