"""[api]: the HTTP server novajoin-server runs (gunicorn).

``gunicorn_settings(conf, tls)`` is the one place gunicorn's settings are
built from [api], for ``novajoin-server`` and files/gunicorn.conf.py alike.
``tls_files(conf)`` is the one check of the TLS options, shared by
``novajoin-server`` and files/gunicorn.conf.py: a half-set, unreadable,
encrypted or mismatched certificate/key pair is refused at start with a
message naming the option, never discovered by nova's first call.
"""
import logging
import ssl

from oslo_config import cfg

from novajoin.conf import base

GROUP = cfg.OptGroup('api', title='API server',
                     help='Where and how novajoin-server serves the vendordata API.')

_TLS_HELP = (
    ' Set cert_file and key_file together (both, or neither for plain HTTP); '
    'novajoin-server refuses to start with only one, or with a file it cannot '
    'read. With TLS on, nova\'s target is https://HOST:PORT/v1/ '
    '([api] vendordata_dynamic_targets in nova.conf) and nova must trust the '
    'CA that signed the certificate: set nova.conf [api] '
    'vendordata_dynamic_ssl_certfile to that CA bundle (else nova uses the '
    'system CAs, and gets no answer from a private CA\'s certificate). '
    'Without TLS every OTP and nova\'s keystone token cross the network in '
    'clear.')

OPTS = [
    # deprecated names: novajoin 1.x's [DEFAULT] options (README, "Migrating
    # from novajoin 1.x")
    cfg.HostAddressOpt('bind_host', default='0.0.0.0',
                       deprecated_name='join_listen', deprecated_group='DEFAULT',
                       help='Address to listen on.'),
    cfg.PortOpt('bind_port', default=9090, deprecated_name='join_listen_port',
                deprecated_group='DEFAULT', help='Port to listen on.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='gunicorn worker processes. One is enough: novajoin waits on '
                    'IPA, not on CPU. Each worker has its own [ipa] max_in_flight '
                    'and its own memory of the hosts it has seen, so more workers '
                    'mean more concurrent IPA calls and more repeated fetches that '
                    'cost two IPA calls instead of one.'),
    cfg.IntOpt('threads', default=64, min=1,
               help='Threads per worker: requests in progress at once. A thread '
                    'waiting for an IPA slot costs little, and waiting requests '
                    'are what the group commit batches, so this is well above '
                    '[ipa] max_in_flight. Requests beyond it wait for a thread; '
                    'that wait counts against [join] request_deadline. Set it '
                    'near the number of vendordata fetches nova makes at once '
                    'in a boot storm (64 measured 5-10% faster than 32 at 64 '
                    'in flight; more did not help).'),
    cfg.IntOpt('timeout', default=30, min=5,
               help='gunicorn worker timeout, seconds.'),
    cfg.BoolOpt('auth_enabled', default=True,
                help='Put keystonemiddleware auth_token in front of the API. Turn '
                     'off only for development: every caller is then trusted.'),
    cfg.StrOpt('cert_file',
               help='PEM certificate (chain) novajoin-server serves HTTPS with: '
                    'the server certificate first, then any intermediate CAs. '
                    'Its names must include the host name (or address) in '
                    'nova\'s target URL.' + _TLS_HELP),
    cfg.StrOpt('key_file',
               help='PEM private key of cert_file, unencrypted (gunicorn cannot '
                    'ask for a passphrase), readable by the service user only. '
                    'Set together with cert_file (see there).'),
]


def register_opts(conf):
    base.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}


class _Encrypted(Exception):
    pass


def _no_passphrase():
    # Called by OpenSSL only for an encrypted key; answering anything would
    # make a later worker prompt on a terminal or fail, so refuse now.
    raise _Encrypted()


def tls_files(conf):
    """(cert_file, key_file) when TLS is configured, None for plain HTTP.

    Raises ValueError, with a message for the operator, when only one of the
    two is set, a file cannot be read, the key is encrypted, or the key does
    not belong to the certificate. The messages name files, never contents.
    """
    cert, key = conf.api.cert_file or None, conf.api.key_file or None
    if not cert and not key:
        return None
    if not (cert and key):
        raise ValueError(
            '[api] cert_file and key_file must be set together: only %s is set '
            '(set both to serve HTTPS, or neither for plain HTTP)'
            % ('cert_file' if cert else 'key_file'))
    for name, path in (('cert_file', cert), ('key_file', key)):
        try:
            with open(path, 'rb'):
                pass
        except OSError as exc:
            raise ValueError('[api] %s %s cannot be read: %s'
                             % (name, path, exc.strerror or exc)) from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=_no_passphrase)
    except _Encrypted:
        raise ValueError('[api] key_file %s is encrypted: gunicorn cannot ask '
                         'for a passphrase; give it an unencrypted key readable '
                         'by the service user only' % key) from None
    except ssl.SSLError as exc:
        raise ValueError('[api] cert_file %s and key_file %s are not a PEM '
                         'certificate and its private key (%s)'
                         % (cert, key, exc.reason or exc)) from None
    return cert, key


def bind_address(host, port):
    """gunicorn's and a URL's form of host:port (IPv6 in brackets)."""
    return '%s:%d' % ('[%s]' % host if ':' in host else host, port)


def gunicorn_settings(conf, files=None, port=None):
    """gunicorn's settings for [api]; ``files``: what tls_files() returned,
    ``port`` overrides bind_port."""
    api = conf.api
    settings = {
        'bind': [bind_address(api.bind_host, port or api.bind_port)],
        'workers': api.workers,
        # gthread (a request waiting for one of the few IPA slots holds a
        # thread, not a process), recording when each request arrived
        'worker_class': 'novajoin.api.worker.Worker',
        'threads': api.threads,
        'timeout': api.timeout,
        'graceful_timeout': 30,
        # Access log to stdout: journald keeps it with the app's log (incl.
        # the novajoin.audit lines).
        'accesslog': '-',
        'errorlog': '-',
        # gunicorn >= 27 opens a control socket (gunicornc) by default;
        # novajoin does not use it and it would be one more local endpoint.
        'control_socket_disable': True,
    }
    if files:
        # HTTPS on every bind: OTPs and nova's token never cross in clear.
        settings['certfile'], settings['keyfile'] = files
    return settings


def transport_notice(conf, files, port=None):
    """(logging level, message) saying at start how the API is served.

    ``files`` is what tls_files() returned; ``port`` overrides bind_port.
    Plain HTTP is always a warning: every OTP crosses the network in clear,
    and with keystone auth on, nova's service token too.
    """
    address = bind_address(conf.api.bind_host, port or conf.api.bind_port)
    if files:
        return logging.INFO, 'TLS is on: serving https://%s (certificate %s)' % (
            address, files[0])
    message = ('TLS IS OFF: serving plain http://%s; every OTP%s crosses the '
               'network in clear. Set [api] cert_file and key_file to serve '
               'HTTPS.' % (address, ' and nova\'s keystone token'
                           if conf.api.auth_enabled else ''))
    return logging.WARNING, message
