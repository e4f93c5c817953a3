"""novajoin-notify's and novajoin-reconcile's command-line behaviour."""
import io
import threading

from novajoin.cmd import notify
from novajoin.cmd import reconcile


class Flaky:
    def __init__(self):
        self.runs = 0
        self.ran = threading.Event()

    def run(self):
        self.runs += 1
        if self.runs == 1:
            raise RuntimeError('nova is down')
        self.ran.set()
        return type('R', (), {'summary': lambda self: '0 IPA changes'})()


def test_periodic_reconciler_survives_a_failed_run():
    stopping = threading.Event()
    flaky = Flaky()
    thread = notify.PeriodicReconciler(flaky, 0.01, stopping, first_delay=0)
    thread.start()
    assert flaky.ran.wait(5)
    stopping.set()
    thread.join(5)
    assert not thread.is_alive() and flaky.runs >= 2


def test_notify_without_ipa_servers_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv('NOVAJOIN_CONFIG_FILE', str(tmp_path / 'none.conf'))
    assert notify.main([]) == 2
    assert 'no IPA server configured' in capsys.readouterr().err


def test_reconcile_needs_service_credentials(tmp_path, capsys, monkeypatch):
    conf = tmp_path / 'join.conf'
    conf.write_text('[ipa]\nservers = ipa.example.test\n')
    assert reconcile.main(['--config-file', str(conf)], out=io.StringIO()) == 2
    assert '[service_credentials] is not set' in capsys.readouterr().err
