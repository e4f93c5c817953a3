from novajoin import conf as conf_pkg
from novajoin.conf import legacy
from novajoin.conf import opts
from novajoin.conf import service_credentials


def parsed():
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    return c


def test_overrides_do_not_leak_between_configs():
    a, b = parsed(), parsed()
    for group, name, value in (('join', 'otp_secret', 'x' * 40), ('ipa', 'servers', ['a']),
                               ('api', 'bind_port', 1234), ('notify', 'pool', 'other'),
                               ('nova', 'region_name', 'R2')):
        before = getattr(getattr(b, group), name)
        a.set_override(name, value, group=group)
        assert getattr(getattr(a, group), name) == value
        assert getattr(getattr(b, group), name) == before


def test_config_file_values(tmp_path):
    path = tmp_path / 'join.conf'
    path.write_text('[join]\ndomain = Cloud.Example.Test\nrequired_boot_roles = a, b\n'
                    'project_hostclasses = p1:web|db,p2:cache\n'
                    '[ipa]\nservers = ipa1.example.test, ipa2.example.test\n')
    c = conf_pkg.new_conf()
    c(['--config-file', str(path)], project='novajoin', default_config_files=[])
    assert c.join.domain == 'Cloud.Example.Test'
    assert c.join.required_boot_roles == ['a', 'b']
    assert c.join.project_hostclasses == {'p1': 'web|db', 'p2': 'cache'}
    assert c.ipa.servers == ['ipa1.example.test', 'ipa2.example.test']
    assert c.ipa.max_in_flight == 2 and c.join.request_deadline == 4.5


def _name(group):
    return group if isinstance(group, str) else group.name


def test_list_opts_covers_every_registered_group():
    listed = {_name(group) for group, _ in opts.list_opts()}
    assert {'join', 'api', 'ipa', 'service_credentials', 'notify', 'glance',
            'keystone', 'nova', 'neutron', 'DEFAULT'} <= listed
    c = parsed()
    for module in conf_pkg.MODULES:
        if module is service_credentials:
            continue    # keystoneauth's plugin options register when loaded
        for group, group_opts in module.list_opts().items():
            group = _name(group)
            for opt in group_opts:
                getattr(c if group == 'DEFAULT' else getattr(c, group), opt.dest)


NOVAJOIN_1X = """[DEFAULT]
join_listen = 192.0.2.10
join_listen_port = 9999
keytab = /etc/nova/krb5.keytab
domain = cloud.example.test
project_subdomain = true
connect_retries = 5
url = https://ipa.example.test/ipa/json
normalize_project = true
"""


def test_a_novajoin_1x_join_conf_maps_to_todays_options_with_warnings(
        tmp_path, caplog):
    path = tmp_path / 'join.conf'
    path.write_text(NOVAJOIN_1X)
    c = conf_pkg.new_conf()
    c(['--config-file', str(path)], project='novajoin', default_config_files=[])
    assert (c.api.bind_host, c.api.bind_port) == ('192.0.2.10', 9999)
    assert c.ipa.keytab == '/etc/nova/krb5.keytab' and c.ipa.retries == 5
    assert c.join.domain == 'cloud.example.test' and c.join.project_subdomain
    warned = caplog.text
    for old, new in [('join_listen', 'bind_host'), ('join_listen_port', 'bind_port'),
                     ('keytab', 'keytab'), ('domain', 'domain'),
                     ('project_subdomain', 'project_subdomain'),
                     ('connect_retries', 'retries')]:
        assert 'Option "%s" from group "DEFAULT" is deprecated. Use option "%s"' % (
            old, new) in warned
    legacy.warn_if_set(c)           # what config.load does
    for gone in ('url', 'normalize_project'):
        assert 'Option "%s" from group "DEFAULT" is deprecated for removal' % gone \
            in caplog.text


def test_todays_option_wins_over_its_1x_name(tmp_path):
    path = tmp_path / 'join.conf'
    path.write_text(NOVAJOIN_1X + '[api]\nbind_port = 9090\n')
    c = conf_pkg.new_conf()
    c(['--config-file', str(path)], project='novajoin', default_config_files=[])
    assert c.api.bind_port == 9090
