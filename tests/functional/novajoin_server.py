"""Helpers to run the real novajoin-server in functional tests and benchmarks.

- a glance stand-in registered in the real keystone's catalog (the image
  properties are the boundary novajoin reads; glance itself is not a peer),
- join.conf for the real peers, and novajoin-server under gunicorn, over
  plain HTTP or, with ``tls=make_tls(dir)``, over HTTPS with a throwaway CA.
"""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import requests

from tests.functional import peers

IMAGE_ENROLL = str(uuid.uuid4())
IMAGE_PLAIN = str(uuid.uuid4())
IMAGES = {IMAGE_ENROLL: {'ipa_enroll': 'True', 'os_distro': 'fedora', 'os_version': '41'},
          IMAGE_PLAIN: {'os_distro': 'debian'}}
GLANCE_PREFIX = 'glance-novajoin-test-'
OTP_SECRET = 'functional-test-otp-secret-0123456789abcdef'
# the key id its owner records name (novajoin.otp.key_id)
OTP_KEY = hmac.new(OTP_SECRET.encode(), b'novajoin otp key id',
                   hashlib.sha256).hexdigest()[:8]


class _Glance(BaseHTTPRequestHandler):
    requests_seen = []

    def do_GET(self):   # noqa: N802
        self.requests_seen.append(self.path)
        image_id = self.path.rsplit('/', 1)[-1]
        if image_id not in IMAGES:
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(dict(IMAGES[image_id], id=image_id, status='active')).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Glance:
    """The stand-in served on 127.0.0.1, and its service in keystone's catalog.

    Image services left by an earlier run that died are removed first, so the
    catalog has exactly one image endpoint: this one.
    """

    def __init__(self, peers_env):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        self.handler = _Glance
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _Glance)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self._admin = session.Session(auth=v3.Password(
            auth_url=peers_env['KEYSTONE_URL'], username='admin',
            password=peers_env['ADMIN_PASSWORD'], project_name='admin',
            user_domain_id='default', project_domain_id='default'))
        self._url = peers_env['KEYSTONE_URL']
        for old in self._admin.get(self._url + '/services?type=image').json()['services']:
            if old['name'].startswith(GLANCE_PREFIX):
                self._admin.delete(self._url + '/services/%s' % old['id'])
        self._service = self._admin.post(self._url + '/services', json={'service': {
            'type': 'image', 'name': GLANCE_PREFIX + uuid.uuid4().hex[:6]}}).json()['service']
        for interface in ('internal', 'public'):
            self._admin.post(self._url + '/endpoints', json={'endpoint': {
                'service_id': self._service['id'], 'interface': interface,
                'region_id': 'RegionOne',
                'url': 'http://127.0.0.1:%d' % self._server.server_port}})

    def close(self):
        # 404: another test session on this machine removed it as a leftover
        # (the catalog holds one image service; run one session at a time).
        self._admin.delete(self._url + '/services/%s' % self._service['id'],
                           raise_exc=False)
        self._server.shutdown()


def make_tls(directory, names=('IP:127.0.0.1', 'DNS:localhost')):
    """A throwaway CA and a server certificate for ``names``, signed by it.

    openssl CLI (the ``cryptography`` package is not a dependency). Returns
    {'ca', 'cert', 'key'}: PEM paths in ``directory``; the CA's own key is
    deleted, so nothing else can ever be signed with it.
    """
    directory = str(directory)
    ca, ca_key = os.path.join(directory, 'ca.pem'), os.path.join(directory, 'ca.key')
    cert, key = os.path.join(directory, 'server.pem'), os.path.join(directory, 'server.key')
    csr, ext = os.path.join(directory, 'server.csr'), os.path.join(directory, 'server.ext')

    def openssl(*args):
        out = subprocess.run(['openssl', *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr

    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca_key,
            '-out', ca, '-days', '2', '-subj', '/CN=novajoin-test-ca-%s' % uuid.uuid4().hex[:8],
            '-addext', 'basicConstraints=critical,CA:TRUE',
            '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
    with open(ext, 'w') as f:
        f.write('basicConstraints=critical,CA:FALSE\n'
                'keyUsage=critical,digitalSignature,keyEncipherment\n'
                'extendedKeyUsage=serverAuth\n'
                'subjectAltName=%s\n'
                'authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n'
                % ','.join(names))
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr,
            '-subj', '/CN=%s' % names[-1].split(':', 1)[1])
    openssl('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key, '-CAcreateserial',
            '-out', cert, '-days', '2', '-extfile', ext)
    for path in (ca_key, csr, ext):
        os.unlink(path)
    return {'ca': ca, 'cert': cert, 'key': key}


# The answer_cache_ttl tests give a server whose "enrolled or disabled: no
# OTP" they check within seconds: it repeats an answer this long.
ANSWER_TTL = 3


def forget_answers():
    """Wait until a server started with answer_cache_ttl=ANSWER_TTL has
    forgotten every answer it gave so far."""
    time.sleep(ANSWER_TTL + 0.5)


def write_conf(path, ipa_env, peers_env, identity, port, tls=None, workers=2,
               threads=8, **join_opts):
    keystone = peers_env['KEYSTONE_URL']
    join = {'otp_secret': OTP_SECRET}
    join.update(join_opts)
    api = ['cert_file = %s' % tls['cert'], 'key_file = %s' % tls['key']] if tls else []
    lines = ['[DEFAULT]', 'debug = true',
             '[api]', 'bind_host = 127.0.0.1', 'bind_port = %d' % port,
             'workers = %d' % workers, 'threads = %d' % threads] + api + [
             '[join]'] + ['%s = %s' % kv for kv in join.items()] + [
             '[ipa]', 'servers = %s' % ipa_env['IPA_SERVER'],
             'ca_file = %s' % ipa_env['IPA_CA_CERT']] + identity + [
             '[keystone_authtoken]', 'auth_type = password',
             'auth_url = %s' % keystone, 'www_authenticate_uri = %s' % keystone,
             'username = vendordata', 'password = %s' % peers_env['VENDORDATA_PASSWORD'],
             'project_name = service', 'user_domain_name = Default',
             'project_domain_name = Default',
             '[service_credentials]', 'auth_type = password', 'auth_url = %s' % keystone,
             'username = nova', 'password = %s' % peers_env['NOVA_PASSWORD'],
             'project_name = service', 'user_domain_name = Default',
             'project_domain_name = Default']
    path.write_text('\n'.join(lines) + '\n')


def _wait_for_https(url, ca, timeout, proc):
    # peers.wait_for_http would verify against $REQUESTS_CA_BUNDLE, which
    # does not hold the throwaway CA: verify against it explicitly.
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError('process for %s exited with %s' % (url, proc.returncode))
        try:
            requests.get(url, timeout=1, verify=ca)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError('%s did not answer within %.0f s' % (url, timeout))


def start_server(tmp_path, name, ipa_env, peers_env, identity, tls=None,
                 workers=2, threads=8, **join_opts):
    """novajoin-server on a free port; (peers.Process, base URL).

    With ``tls`` (make_tls()'s dict) it serves HTTPS and the URL is https://.
    """
    port = peers.free_port()
    conf = tmp_path / ('%s.conf' % name)
    write_conf(conf, ipa_env, peers_env, identity, port, tls=tls, workers=workers,
               threads=threads, **join_opts)
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
    proc = peers.Process([exe, '--config-file', str(conf)], tmp_path / ('%s.log' % name))
    url = '%s://127.0.0.1:%d' % ('https' if tls else 'http', port)
    try:
        if tls:
            _wait_for_https(url + '/healthcheck', tls['ca'], 60, proc.proc)
        else:
            peers.wait_for_http(url + '/healthcheck', 60, proc.proc)
    except RuntimeError:
        proc.stop()
        raise AssertionError('novajoin-server did not start:\n' + proc.log())
    return proc, url


def identity_conf(identity, ipa_env):
    return ['auth_method = kerberos', 'keytab = %s' % identity['keytab'],
            'principal = %s' % identity['principal'],
            'krb5_config = %s' % ipa_env['IPA_KRB5_CONFIG']]
