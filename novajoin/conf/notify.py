"""[notify]: novajoin-notify (the notification listener) and novajoin-reconcile.

The messaging options themselves (``transport_url`` in [DEFAULT],
``[oslo_messaging_rabbit]``, ``executor_thread_pool_size``) are oslo.messaging's.
"""
from oslo_config import cfg

from novajoin.conf import base

GROUP = cfg.OptGroup(
    'notify', title='Notification listener and reconciler',
    help='How novajoin-notify follows nova and neutron notifications, and how '
         'the reconciler finds what the notifications missed.')

OPTS = [
    cfg.ListOpt('topics', default=['notifications', 'versioned_notifications'],
                help='Notification topics to listen on: nova\'s unversioned '
                     '([oslo_messaging_notifications] topics, default '
                     '"notifications", also neutron\'s) and versioned '
                     '([notifications] versioned_notifications_topics, default '
                     '"versioned_notifications") ones. A dedicated topic such '
                     'as "novajoin_notifications" works too, once nova and '
                     'neutron publish to it.'),
    cfg.ListOpt('exchanges', default=['nova', 'neutron'],
                help='Exchanges the topics are bound on: the control_exchange '
                     'of nova and of neutron.'),
    cfg.StrOpt('pool', default='novajoin',
               help='Listener pool. Each pool is a queue of its own bound to '
                    'the topics, so other consumers of the standard topics '
                    '(ceilometer, designate...) keep getting every message, '
                    'and replicas of novajoin-notify with the same pool share '
                    'the work. The queue outlives novajoin-notify, so what is '
                    'published while it is down waits for it; it is durable '
                    'when [oslo_messaging_rabbit] amqp_durable_queues or '
                    'rabbit_quorum_queue is on, which must match what nova '
                    'and neutron use. Empty: no pool, consume the topic\'s own '
                    'queue (only for a dedicated topic).'),
    cfg.IntOpt('max_attempts', default=8, min=1,
               help='Attempts at a notification that fails for a transient '
                    'reason (IPA unreachable, HTTP 5xx, timeout, Kerberos, '
                    'nova or neutron down) before it is given up, logged at '
                    'ERROR and left to the reconciler.'),
    cfg.FloatOpt('retry_backoff', default=2.0, min=0,
                 help='Seconds before a failed notification goes back to the '
                      'queue; doubles on each attempt.'),
    cfg.FloatOpt('retry_backoff_max', default=60.0, min=0,
                 help='Upper bound of the pause between two attempts.'),
    cfg.BoolOpt('trust_delete_notifications', default=False,
                help='A delete notification is a claim: novajoin removes an '
                     'IPA host only once nova confirms the instance is gone '
                     '(404 or DELETED), which needs [service_credentials]. '
                     'Without them, deletes remove nothing (logged at ERROR; '
                     'the reconciler cannot run either) unless this is true, '
                     'in which case anyone who can publish on the message bus '
                     'can have any enrolled host removed. Ignored when nova '
                     'can be asked: it is then always asked.'),
    cfg.BoolOpt('floating_ip_dns', default=True,
                help='Keep A (and, where IPA has the reverse zone, PTR) records '
                     'of enrolled servers\' floating IPs in IPA DNS. Needs '
                     '[service_credentials] with a role that reads every '
                     'project\'s ports and floating IPs: each event is settled '
                     'to what neutron says at that moment (the port\'s project '
                     'must be the project that owns the host).'),
    cfg.ListOpt('floating_ip_ranges', default=[],
                help='CIDRs floating IPs come from. An A record of an enrolled '
                     'host in these ranges is kept as neutron has it (port '
                     'deletion, reconciler): added when missing, removed when '
                     'stale. Default: the subnets of neutron\'s external '
                     'networks.'),
    cfg.IntOpt('reconcile_interval', default=3600, min=0,
               help='Seconds between two reconciler runs inside '
                    'novajoin-notify (0: never; run novajoin-reconcile from '
                    'cron instead). Needs [service_credentials] with a '
                    'role that may list every project\'s servers.'),
    cfg.BoolOpt('read_from_ldap', default=True,
                deprecated_name='reconcile_from_ldap',
                help='Read novajoin\'s hosts from IPA\'s LDAP (389-ds on '
                     '[ipa] servers, port 389, StartTLS verified with [ipa] '
                     'ca_file, bound with novajoin\'s own credentials): the '
                     'reconciler lists them page by page (at 6,000 hosts one '
                     'JSON-RPC host_find takes IPA ~20 s and the whole answer '
                     'in memory), and a delete notification finds its host '
                     'there (IPA\'s JSON-RPC is left its host_del alone, '
                     'half the round trips; if LDAP fails, JSON-RPC is '
                     'used). '
                     'false: JSON-RPC only (small clouds, or no LDAP port '
                     'reachable).'),
    cfg.IntOpt('reconcile_page_size', default=1000, min=10,
               help='Hosts per LDAP page when the reconciler lists them.'),
    cfg.IntOpt('reconcile_concurrency', default=16, min=1,
               help='Hosts without a server in nova\'s list that the '
                    'reconciler confirms with nova and removes at once: '
                    'those nova lists as deleted need no more; the others '
                    'get a GET each (never skipped). Their IPA calls share '
                    'batches ([ipa] max_in_flight still bounds IPA).'),
    cfg.FloatOpt('reconcile_read_timeout', default=60.0, min=1,
                 help='Seconds to wait for one LDAP page of the '
                      'reconciler\'s listing (bulk work: longer than [ipa] '
                      'read_timeout, made for nova\'s 5 s). A delete\'s LDAP '
                      'look-up waits [ipa] read_timeout.'),
    cfg.IntOpt('reconcile_grace', default=1800, min=0,
               help='The reconciler leaves alone IPA hosts created less than '
                    'this many seconds ago, so a booting instance is never '
                    'touched.'),
    cfg.ListOpt('reconcile_domains', default=[],
                help='Reconcile only hosts under these DNS domains. Set it when '
                     'several clouds share one IPA realm, so each reconciler '
                     'keeps to its own hosts (it cannot know the others\' '
                     'servers). Default: every host novajoin owns.'),
]


def register_opts(conf):
    base.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}
