"""novajoin-reconcile's command line: what it refuses before touching IPA."""
from novajoin.cmd import reconcile


def conf_file(tmp_path, text=''):
    path = tmp_path / 'join.conf'
    path.write_text('[ipa]\nservers = ipa.example.test\n' + text)
    return str(path)


def test_apply_without_adopt_is_refused(tmp_path, capsys):
    assert reconcile.main(['--config-file', conf_file(tmp_path), '--apply']) == 2
    assert '--apply goes with --adopt' in capsys.readouterr().err


def test_adopt_needs_nova(tmp_path, capsys):
    assert reconcile.main(['--config-file', conf_file(tmp_path), '--adopt']) == 2
    assert 'nova cannot be asked' in capsys.readouterr().err
