"""HAProxy (Debian's package) in front of novajoin-server replicas, as an
operator runs it (README, "Operating novajoin at scale").

- Health checks on ``GET /healthcheck`` every 300 ms: a replica that stops
  answering, or whose disable file exists (oslo.middleware's
  ``disable_by_file``), is out after two failed checks and back after two
  good ones.
- A request whose replica dies under it (connection refused, reset, empty
  answer) is sent again to the other replica (``retry-on`` with
  ``option redispatch``). That is safe for novajoin: a fetch is idempotent,
  the OTP is derived, so a second replica answers the same OTP.
- ``timeout server`` stays under nova's 5 s read timeout.
"""
import shutil
import subprocess
import time

import requests

from tests.functional import peers

CONFIG = '''global
    log stdout format raw local0 info
    maxconn 512
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 4800ms
    timeout check 1s
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    option http-buffer-request
frontend novajoin
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /healthcheck
    http-check expect status 200
    default-server inter 300ms fall 2 rise 2
{servers}
listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
'''


def require():
    if not shutil.which('haproxy'):
        raise AssertionError('haproxy is not installed (tools/bootstrap.sh '
                             'installs Debian\'s package)')


class HAProxy:
    """haproxy -db with ``backends`` ({name: 'host:port'}); ``url`` is the
    front end."""

    def __init__(self, tmp_path, backends):
        require()
        self.port = peers.free_port()
        self.stats_port = peers.free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        servers = '\n'.join('    server %s %s check' % (name, address)
                            for name, address in backends.items())
        conf = tmp_path / 'haproxy.cfg'
        conf.write_text(CONFIG.format(port=self.port, stats_port=self.stats_port,
                                      servers=servers))
        check = subprocess.run(['haproxy', '-c', '-f', str(conf)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.proc = peers.Process(['haproxy', '-db', '-f', str(conf)],
                                  tmp_path / 'haproxy.log')
        self.wait_status({name: 'UP' for name in backends})

    def status(self):
        """{server name: 'UP' | 'DOWN' | 'MAINT' | ...} from the stats page."""
        csv = requests.get('http://127.0.0.1:%d/stats;csv' % self.stats_port,
                           timeout=5).text
        found = {}
        for line in csv.splitlines():
            fields = line.split(',')
            if len(fields) > 17 and fields[0] == 'replicas' and \
                    fields[1] not in ('FRONTEND', 'BACKEND'):
                found[fields[1]] = fields[17].split(' ')[0]
        return found

    def wait_status(self, wanted, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if all(self.status().get(k) == v for k, v in wanted.items()):
                    return
            except requests.RequestException:
                pass
            if self.proc.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError('haproxy: %s not reached (%s)\n%s' % (
            wanted, self._safe_status(), self.proc.log()[-3000:]))

    def _safe_status(self):
        try:
            return self.status()
        except requests.RequestException as exc:
            return exc

    def log(self):
        return self.proc.log()

    def stop(self):
        self.proc.stop()
