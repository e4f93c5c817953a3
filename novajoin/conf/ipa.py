"""[ipa]: how to reach and authenticate to FreeIPA."""
from oslo_config import cfg

from novajoin.conf import base

GROUP = cfg.OptGroup('ipa', title='FreeIPA',
                     help='The IPA servers novajoin talks JSON-RPC to.')

OPTS = [
    cfg.ListOpt('servers', default=[],
                help='IPA server host names, tried in order (failover). They are '
                     'also handed to guests for ipa-client-install --server.'),
    cfg.StrOpt('realm', help='Kerberos realm. Default: asked from IPA once.'),
    cfg.StrOpt('domain', help='IPA DNS domain. Default: asked from IPA once.'),
    cfg.StrOpt('auth_method', default='kerberos',
               choices=[('kerberos', 'Negotiate with a ticket from a keytab'),
                        ('password', 'login_password, then the session cookie')],
               help='How novajoin authenticates to IPA.'),
    cfg.StrOpt('keytab', default='/etc/novajoin/krb5.keytab',
               deprecated_group='DEFAULT',
               help='Keytab of novajoin\'s IPA principal (kerberos).'),
    cfg.StrOpt('principal',
               help='Principal to take from the keytab, e.g. '
                    'nova/controller.example.test. Default: the keytab\'s first.'),
    cfg.StrOpt('krb5_config',
               help='krb5.conf to use (sets KRB5_CONFIG for this process).'),
    cfg.IntOpt('ticket_renew_margin', default=300, min=10,
               help='Get a new ticket when the current one has less than this '
                    'many seconds left.'),
    cfg.StrOpt('user', help='IPA user (password).'),
    cfg.StrOpt('password', secret=True, help='IPA password (password).'),
    cfg.StrOpt('ca_file', default='/etc/ipa/ca.crt',
               help='CA certificate that signed the IPA servers\' HTTPS '
                    'certificates. Takes precedence over REQUESTS_CA_BUNDLE.'),
    cfg.BoolOpt('verify', default=True,
                help='Verify the IPA servers\' certificates. Never turn off in '
                     'production.'),
    cfg.StrOpt('api_version', default='2.254',
               help='IPA API version sent with every call (FreeIPA 4.12: 2.254).'),
    cfg.FloatOpt('connect_timeout', default=1.5, min=0.1,
                 help='Seconds to wait for a TCP connection to an IPA server.'),
    cfg.FloatOpt('read_timeout', default=4.0, min=0.1,
                 help='Seconds to wait for an IPA answer.'),
    cfg.IntOpt('retries', default=2, min=0, deprecated_name='connect_retries',
               deprecated_group='DEFAULT',
               help='Further attempts after a transient failure (connection, '
                    'timeout, 5xx), each on the next server.'),
    cfg.FloatOpt('retry_backoff', default=0.2, min=0,
                 help='Seconds before the first retry; doubles each time.'),
    cfg.IntOpt('failback_interval', default=300, min=0,
               help='After failing over from the first of [ipa] servers, '
                    'try it again this many seconds later (one call; if it '
                    'still fails, that call goes on to the next server). '
                    '0: stay on the server that answered.'),
    cfg.IntOpt('max_in_flight', default=2, min=1,
               help='IPA round trips in flight at once per process; further '
                    'calls queue and share the next free slot as one IPA '
                    'batch. IPA gets slower, not faster, with more '
                    'concurrency: FreeIPA serves JSON-RPC with 2 WSGI '
                    'processes by default, and measured on FreeIPA 4.12 '
                    '(bench/bootstorm.py, bench/notify.py) bare host_adds '
                    'ran fastest 2 at a time, and 3 slots gave deletes no '
                    'more than 2 (1.32x against 1.28x the per-call rate). '
                    'Raise it with the WSGI processes of the IPA servers.'),
    cfg.IntOpt('max_batch', default=10, min=1,
               help='Most IPA commands sent in one shared batch (group '
                    'commit). 1 turns batching off. Most of a call\'s cost '
                    'in IPA is per request: measured on FreeIPA 4.12, '
                    'batches of 10 host_adds ran 1.4-1.8x and of 10 '
                    'host_dels 1.7-1.9x the best per-call rate (1.4x for '
                    'hosts with DNS records: the record update is not '
                    'shared). In a boot storm 20 was within noise of 10; '
                    'deletes did worse with 20 (42.9 against 48-57/s).'),
    cfg.IntOpt('max_queue', default=1000, min=1,
               help='Most calls waiting for an IPA slot per process; a call '
                    'beyond that fails at once as "IPA busy" (503 to nova, '
                    'a retry later for a notification).'),
]


def register_opts(conf):
    base.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
