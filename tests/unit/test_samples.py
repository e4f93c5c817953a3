"""The committed samples are what the generators make from the code now.

On failure: ``tox -e genconfig`` / ``tox -e genpolicy`` (or the commands
below) and commit the result.
"""
import difflib
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ETC = ROOT / 'etc' / 'novajoin'

GENERATORS = {
    'join.conf.sample': (
        'from oslo_config.generator import main; main()',
        'novajoin-config-generator.conf', 'tox -e genconfig'),
    'policy.yaml.sample': (
        'from oslo_policy.generator import generate_sample; generate_sample()',
        'novajoin-policy-generator.conf', 'tox -e genpolicy'),
}


def _check(name, tmp_path):
    code, config_file, fix = GENERATORS[name]
    out = tmp_path / name
    proc = subprocess.run(
        [sys.executable, '-W', 'ignore', '-c', code,
         '--config-file', str(ETC / config_file), '--output-file', str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    committed = (ETC / name).read_text()
    generated = out.read_text()
    diff = ''.join(list(difflib.unified_diff(
        committed.splitlines(True), generated.splitlines(True),
        'committed ' + name, 'generated ' + name))[:60])
    assert committed == generated, 'etc/novajoin/%s is stale; run %s:\n%s' % (
        name, fix, diff)


def test_config_sample_is_up_to_date(tmp_path):
    _check('join.conf.sample', tmp_path)


def test_policy_sample_is_up_to_date(tmp_path):
    _check('policy.yaml.sample', tmp_path)


def test_config_sample_has_every_namespace():
    sample = (ETC / 'join.conf.sample').read_text()
    for section in ('[join]', '[ipa]', '[api]', '[notify]', '[service_credentials]',
                    '[keystone_authtoken]', '[oslo_policy]',
                    '[oslo_messaging_notifications]'):
        assert section in sample
    assert 'log_file' in sample  # oslo.log, in [DEFAULT]
