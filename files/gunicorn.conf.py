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
    return conf.api, tls, api.transport_notice(conf, tls)


_reset_prometheus_dir()
_api, _tls, _notice = _api_options()

wsgi_app = 'novajoin.wsgi:application'
bind = ['[%s]:%d' % (_api.bind_host, _api.bind_port) if ':' in _api.bind_host
        else '%s:%d' % (_api.bind_host, _api.bind_port)]
workers = _api.workers
# gthread: a request waiting for one of the few IPA slots holds a thread, not
# a process.
worker_class = 'gthread'
threads = _api.threads
timeout = _api.timeout
graceful_timeout = 30
# Access log to stdout: journald keeps it with the app's log (incl. the
# novajoin.audit lines).
accesslog = '-'
errorlog = '-'
# gunicorn >= 27 opens a control socket (gunicornc) by default; novajoin does
# not use it and it would be one more local endpoint to protect.
control_socket_disable = True
if _tls:
    # HTTPS on every bind: OTPs and nova's token never cross in clear.
    certfile, keyfile = _tls


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
