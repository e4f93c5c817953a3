"""Build the notification handlers and the reconciler from join.conf."""
import logging

from novajoin import audit
from novajoin import openstack
from novajoin import otp
from novajoin.hosts import dns as host_dns
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.hosts import store
from novajoin.ipa import IPAClient
from novajoin.ipa import auth as ipa_auth
from novajoin.ipa import directory
from novajoin.notify import dns
from novajoin.notify import floating
from novajoin.notify import handlers
from novajoin.notify import reconcile

LOG = logging.getLogger(__name__)


def directory_from_conf(conf, ipa):
    """Where the reconciler lists hosts and deletes find theirs: IPA's LDAP,
    or None (JSON-RPC)."""
    if not conf.notify.read_from_ldap:
        return None
    return directory.Directory(
        conf.ipa.servers, ipa_auth.from_conf(conf),
        lambda: ipa.call('env', 'basedn')['result']['basedn'],
        ca_file=conf.ipa.ca_file, verify=conf.ipa.verify,
        connect_timeout=conf.ipa.connect_timeout,
        read_timeout=conf.notify.reconcile_read_timeout,
        # a delete's look-up is one small indexed search, not bulk work
        lookup_timeout=conf.ipa.read_timeout,
        page_size=conf.notify.reconcile_page_size)


class Parts:
    """What both novajoin-notify and novajoin-reconcile use."""

    def __init__(self, conf, ipa=None, servers=None, network=None,
                 service='novajoin-notify'):
        self.conf = conf
        self.audit = audit.from_conf(conf, service)
        self.ipa = ipa or IPAClient.from_conf(conf)
        if servers is None and network is None:
            servers, network = openstack.servers_from_conf(conf)
        self.servers = servers
        self.network = network
        self.zones = host_dns.Zones(self.ipa)
        self.cloud = records.cloud_from_conf(conf)
        self.hosts = store.Hosts(self.ipa, self.zones, self.cloud,
                                 directory=directory_from_conf(conf, self.ipa))
        self.service_rules = services.rules_from_conf(conf)
        self.floating = None
        if conf.notify.floating_ip_dns:
            self.floating = floating.FloatingIPs(
                self.hosts, dns.FloatingDNS(self.ipa, self.zones, self.cloud),
                self.network, dns.parse_ranges(conf.notify.floating_ip_ranges))

    def otps(self):
        """The OTP source (re-arming rebuilt hosts), or None without a
        usable [join] otp_secret."""
        try:
            return otp.source_from_conf(self.conf)
        except (OSError, ValueError) as exc:
            LOG.warning('hosts of rebuilt instances will not be reset: %s', exc)
            return None

    def handlers(self):
        return handlers.Handlers(self.hosts, floating=self.floating,
                                 otps=self.otps(),
                                 servers=self.servers,
                                 service_rules=self.service_rules,
                                 trust_deletes=(
                                     self.conf.notify.trust_delete_notifications),
                                 audit=self.audit)

    def reconciler(self, grace=None):
        """A Reconciler, or None when nova cannot be asked."""
        if self.servers is None:
            return None
        return reconcile.Reconciler(
            self.hosts, self.servers, floating=self.floating,
            grace=self.conf.notify.reconcile_grace if grace is None else grace,
            domains=self.conf.notify.reconcile_domains, audit=self.audit,
            workers=self.conf.notify.reconcile_concurrency)
