"""Build the notification handlers and the reconciler from join.conf."""
import logging

from novajoin import openstack
from novajoin import reconcile
from novajoin.ipa import IPAClient
from novajoin.notify import dns
from novajoin.notify import handlers
from novajoin.notify import hosts

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
        self.zones = dns.Zones(self.ipa)
        self.hosts = hosts.Hosts(self.ipa, self.zones)
        self.fip_dns = (dns.FloatingDNS(self.ipa, self.zones)
                        if conf.notify.floating_ip_dns else None)
        self.floating_ranges = dns.parse_ranges(conf.notify.floating_ip_ranges)

    def handlers(self):
        return handlers.Handlers(self.hosts, fip_dns=self.fip_dns,
                                 network=self.network,
                                 floating_ranges=self.floating_ranges)

    def reconciler(self, grace=None):
        """A Reconciler, or None when nova cannot be asked."""
        if self.servers is None:
            return None
        return reconcile.Reconciler(
            self.hosts, self.servers, fip_dns=self.fip_dns, network=self.network,
            floating_ranges=self.floating_ranges,
            grace=self.conf.notify.reconcile_grace if grace is None else grace,
            domains=self.conf.notify.reconcile_domains)
