"""gunicorn settings for novajoin-server under systemd.

Installed as /etc/novajoin/gunicorn.conf.py; novajoin-server.service runs
``gunicorn --config /etc/novajoin/gunicorn.conf.py``. Address, workers,
threads, timeout and TLS (cert_file, key_file) come from join.conf [api] (the
file novajoin.wsgi reads, $NOVAJOIN_CONFIG_FILE or /etc/novajoin/join.conf),
so they are set in one place for this unit and for ``novajoin-server`` run by
hand. A half-set or unreadable certificate/key pair stops gunicorn at start.
"""


def _reset_prometheus_dir():
    # /metrics must count every worker, not the one that happens to answer:
    # prometheus-client's multiprocess mode, in $PROMETHEUS_MULTIPROC_DIR (the
    # unit sets /run/novajoin/prometheus). Emptied at each start, before
    # novajoin's metrics are imported (that creates files in it).
    import os
    import shutil
    path = os.environ.get('PROMETHEUS_MULTIPROC_DIR')
    if path:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, mode=0o700, exist_ok=True)


def _api_options():
    # Reads join.conf and checks it (OTP secret, IPA servers, auth), so a bad
    # config stops gunicorn at start instead of failing every request; the
    # app itself is built in each worker, after the fork.
    from novajoin import config
    from novajoin.api.app import build_enroller
    from novajoin.conf import api
    conf = config.load(prog='novajoin-gunicorn', setup_logging=False)
    tls = api.tls_files(conf)
    build_enroller(conf)
    return api.gunicorn_settings(conf, tls), api.transport_notice(conf, tls)


_reset_prometheus_dir()
_api_settings, _notice = _api_options()

wsgi_app = 'novajoin.wsgi:application'
# Built in one place for this file and novajoin-server (novajoin.conf.api).
globals().update(_api_settings)


def when_ready(server):
    # In gunicorn's own log (journald), once, whether TLS is on: plain HTTP
    # is a warning an operator must see.
    server.log.log(*_notice)


def child_exit(server, worker):
    # A dead worker's live gauges must not linger in /metrics.
    import os
    if os.environ.get('PROMETHEUS_MULTIPROC_DIR'):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
