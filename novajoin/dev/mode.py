"""``novajoin-server --dev``: the service with embedded defaults, NOT for production.

- keystone is off: every caller is trusted as nova (logged loudly),
- IPA is an in-process stand-in speaking FreeIPA's JSON-RPC over HTTP,
- the OTP secret is random for this run.
"""
import json
import logging
import secrets

from novajoin.api import create_app
from novajoin.api.app import build_enroller
from novajoin.dev.fake_ipa import FakeIPAServer
from novajoin.ipa import IPAClient
from novajoin.ipa.auth import PasswordAuth

LOG = logging.getLogger(__name__)

SAMPLE = {'project-id': 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70',
          'instance-id': '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90',
          'image-id': '', 'user-data': None, 'hostname': 'dev-vm-1',
          'metadata': {'ipa_enroll': 'true', 'ipa_hostclass': 'webservers'},
          'boot-roles': 'member,reader'}

BANNER = '''
======================================================================
 novajoin-server DEVELOPMENT MODE -- not for production
   * no keystone: every caller is trusted as nova
   * IPA is an in-process stand-in at http://%(ipa)s (realm %(realm)s)
   * the OTP secret is random for this run
 Enroll a sample instance:
   curl -s -X POST http://%(host)s:%(port)d/v1/ \\
        -H 'Content-Type: application/json' -d '%(body)s'
======================================================================
'''


def build(conf):
    """(app, fake IPA server) with the dev defaults applied to conf."""
    fake = FakeIPAServer().start()
    conf.set_override('auth_enabled', False, group='api')
    conf.set_override('otp_secret', secrets.token_urlsafe(32), group='join')
    conf.set_override('servers', [fake.address], group='ipa')
    conf.set_override('realm', fake.ipa.realm, group='ipa')
    conf.set_override('domain', fake.ipa.domain, group='ipa')
    ipa = IPAClient([fake.address], PasswordAuth(fake.ipa.user, fake.ipa.password),
                    scheme='http', max_in_flight=conf.ipa.max_in_flight,
                    max_batch=conf.ipa.max_batch)
    app = create_app(conf, enroller=build_enroller(conf, ipa=ipa))
    return app, fake


def run(conf, host, port):
    from werkzeug import serving
    app, fake = build(conf)
    print(BANNER % {'ipa': fake.address, 'realm': fake.ipa.realm, 'host': host,
                    'port': port, 'body': json.dumps(SAMPLE)}, flush=True)
    LOG.warning('DEVELOPMENT MODE: not for production')
    try:
        serving.run_simple(host, port, app, threaded=True)
    finally:
        fake.stop()
