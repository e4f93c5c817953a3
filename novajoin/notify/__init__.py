"""novajoin-notify: follow nova and neutron notifications to keep IPA right.

- ``listener``: the oslo.messaging listener (pool, requeue with a bound),
- ``handlers``: the event-type table and one small handler per event,
- ``hosts``: find and remove IPA hosts with their subhosts, services, DNS,
- ``managed``: bring a host's TripleO services in line with its metadata,
- ``dns``: IPA zones and floating-IP A/PTR records,
- ``wiring``: build all of it from join.conf.
"""
