"""Helpers to run the real novajoin-server in functional tests and benchmarks.

- a glance stand-in registered in the real keystone's catalog (the image
  properties are the boundary novajoin reads; glance itself is not a peer),
- join.conf for the real peers, and novajoin-server under gunicorn.
"""
import json
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from tests.functional import peers

IMAGE_ENROLL = str(uuid.uuid4())
IMAGE_PLAIN = str(uuid.uuid4())
IMAGES = {IMAGE_ENROLL: {'ipa_enroll': 'True', 'os_distro': 'fedora', 'os_version': '41'},
          IMAGE_PLAIN: {'os_distro': 'debian'}}
GLANCE_PREFIX = 'glance-novajoin-test-'


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
        self._admin.delete(self._url + '/services/%s' % self._service['id'])
        self._server.shutdown()


def write_conf(path, ipa_env, peers_env, identity, port, **join_opts):
    keystone = peers_env['KEYSTONE_URL']
    join = {'otp_secret': 'functional-test-otp-secret-0123456789abcdef'}
    join.update(join_opts)
    lines = ['[DEFAULT]', 'debug = true',
             '[api]', 'bind_host = 127.0.0.1', 'bind_port = %d' % port,
             'workers = 2', 'threads = 8',
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
             'project_domain_name = Default', 'interface = internal']
    path.write_text('\n'.join(lines) + '\n')


def start_server(tmp_path, name, ipa_env, peers_env, identity, **join_opts):
    port = peers.free_port()
    conf = tmp_path / ('%s.conf' % name)
    write_conf(conf, ipa_env, peers_env, identity, port, **join_opts)
    exe = os.path.join(os.path.dirname(sys.executable), 'novajoin-server')
    proc = peers.Process([exe, '--config-file', str(conf)], tmp_path / ('%s.log' % name))
    url = 'http://127.0.0.1:%d' % port
    try:
        peers.wait_for_http(url + '/healthcheck', 60, proc.proc)
    except RuntimeError:
        proc.stop()
        raise AssertionError('novajoin-server did not start:\n' + proc.log())
    return proc, url


def identity_conf(identity, ipa_env):
    return ['auth_method = kerberos', 'keytab = %s' % identity['keytab'],
            'principal = %s' % identity['principal'],
            'krb5_config = %s' % ipa_env['IPA_KRB5_CONFIG']]
