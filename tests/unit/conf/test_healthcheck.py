"""[healthcheck]: oslo.middleware's options with novajoin's defaults."""
from oslo_config import cfg
from oslo_middleware.healthcheck import opts as healthcheck_opts

from novajoin import conf as conf_pkg
from novajoin.conf import healthcheck


def parsed(*argv):
    c = conf_pkg.new_conf()
    c(list(argv), project='novajoin', default_config_files=[])
    return c


def test_the_defaults_are_a_drain_file_and_no_details():
    c = parsed()
    assert c.healthcheck.backends == ['disable_by_file']
    assert c.healthcheck.disable_by_file_path == '/var/lib/novajoin/healthcheck_disable'
    assert c.healthcheck.detailed is False
    assert c.healthcheck.allowed_source_ranges == []


def test_the_defaults_stay_in_novajoins_config():
    parsed()
    other = cfg.ConfigOpts()
    other.register_opts(healthcheck.OPTS, group='healthcheck')
    other([], default_config_files=[])
    assert other.healthcheck.backends == []
    assert other.healthcheck.disable_by_file_path is None
    assert [o.default for o in healthcheck_opts.HEALTHCHECK_OPTS
            if o.name == 'backends'] == [[]]


def test_join_conf_moves_the_disable_file(tmp_path):
    path = tmp_path / 'join.conf'
    path.write_text('[healthcheck]\ndisable_by_file_path = /run/nj/off\n')
    c = parsed('--config-file', str(path))
    assert c.healthcheck.disable_by_file_path == '/run/nj/off'
    assert c.healthcheck.backends == ['disable_by_file']
