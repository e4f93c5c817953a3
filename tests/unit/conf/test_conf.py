from novajoin import conf as conf_pkg
from novajoin.conf import opts


def parsed():
    c = conf_pkg.new_conf()
    c([], project='novajoin', default_config_files=[])
    return c


def test_overrides_do_not_leak_between_configs():
    a, b = parsed(), parsed()
    for group, name, value in (('join', 'otp_secret', 'x' * 40), ('ipa', 'servers', ['a']),
                               ('api', 'bind_port', 1234), ('notify', 'pool', 'other'),
                               ('service_credentials', 'region_name', 'R2')):
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


def test_list_opts_covers_every_registered_group():
    listed = {group.name for group, _ in opts.list_opts()}
    assert {'join', 'api', 'ipa', 'service_credentials', 'notify'} <= listed
    c = parsed()
    for module in conf_pkg.MODULES:   # novajoin's own options (not keystoneauth's)
        for opt in module.OPTS:
            getattr(getattr(c, module.GROUP.name), opt.dest)
