"""Build the notification handlers and the reconciler from join.conf."""
import logging

from novajoin import openstack
from novajoin.hosts import dns as host_dns
from novajoin.hosts import records
from novajoin.hosts import services
from novajoin.hosts import store
from novajoin.ipa import IPAClient
from novajoin.notify import dns
from novajoin.notify import handlers
from novajoin.notify import reconcile

LOG = logging.getLogger(__name__)


class Parts:
    """What both novajoin-notify and novajoin-reconcile use."""

    def __init__(self, conf, ipa=None, servers=None, network=None):
        self.conf = conf
        self.ipa = ipa or IPAClient.from_conf(conf)
        if servers is None and network is None:
            servers, network = openstack.servers_from_conf(conf)
        self.servers = servers
        self.network = network
        self.zones = host_dns.Zones(self.ipa)
        self.cloud = records.cloud_from_conf(conf)
        self.hosts = store.Hosts(self.ipa, self.zones, self.cloud)
        self.service_rules = services.rules_from_conf(conf)
        self.fip_dns = (dns.FloatingDNS(self.ipa, self.zones, self.cloud)
                        if conf.notify.floating_ip_dns else None)
        self.floating_ranges = dns.parse_ranges(conf.notify.floating_ip_ranges)

    def handlers(self):
        return handlers.Handlers(self.hosts, fip_dns=self.fip_dns,
                                 network=self.network, servers=self.servers,
                                 service_rules=self.service_rules,
                                 floating_ranges=self.floating_ranges,
                                 trust_deletes=(
                                     self.conf.notify.trust_delete_notifications))

    def reconciler(self, grace=None):
        """A Reconciler, or None when nova cannot be asked."""
        if self.servers is None:
            return None
        return reconcile.Reconciler(
            self.hosts, self.servers, fip_dns=self.fip_dns, network=self.network,
            floating_ranges=self.floating_ranges,
            grace=self.conf.notify.reconcile_grace if grace is None else grace,
            domains=self.conf.notify.reconcile_domains)
