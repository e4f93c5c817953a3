"""Zones and record names."""
from novajoin.hosts import dns


class Zoned:
    def __init__(self, names):
        self.names = names

    def call(self, method, *args, **opts):
        assert method == 'dnszone_find'
        return {'result': [{'idnsname': [{'__dns_name__': n}]} for n in self.names]}


def zones(*names):
    return dns.Zones(Zoned(list(names)))


def test_split_takes_the_longest_zone():
    z = zones('example.test.', 'proj.example.test.', '2.0.192.in-addr.arpa.')
    assert z.split('vm1.example.test') == ('example.test.', 'vm1')
    assert z.split('VM1.Proj.example.test.') == ('proj.example.test.', 'vm1')
    assert z.split('vm1.api.example.test') == ('example.test.', 'vm1.api')
    assert z.split('vm1.other.test') is None


def test_reverse_of_an_address():
    z = zones('example.test.', '2.0.192.in-addr.arpa.', '51.198.in-addr.arpa.')
    assert z.reverse_of('192.0.2.10') == ('2.0.192.in-addr.arpa.', '10')
    assert z.reverse_of('198.51.100.7') == ('51.198.in-addr.arpa.', '7.100')
    assert z.reverse_of('203.0.113.1') is None


def test_zones_are_cached():
    source = Zoned(['example.test.'])
    clock = [0.0]
    z = dns.Zones(source, ttl=60, clock=lambda: clock[0])
    assert z.forward() == ['example.test.']
    source.names.append('new.test.')
    assert z.forward() == ['example.test.']
    clock[0] = 61
    assert z.forward() == ['example.test.', 'new.test.']
