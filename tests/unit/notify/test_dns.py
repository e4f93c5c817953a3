"""Floating-IP ranges."""
import ipaddress

from novajoin.notify import dns


def test_in_ranges():
    ranges = dns.parse_ranges(['192.0.2.0/24', '2001:db8::/32'])
    assert dns.in_ranges('192.0.2.200', ranges)
    assert dns.in_ranges('2001:db8::1', ranges)
    assert not dns.in_ranges('10.0.0.1', ranges)
    assert not dns.in_ranges('not-an-ip', ranges)
    assert ranges[0] == ipaddress.ip_network('192.0.2.0/24')
