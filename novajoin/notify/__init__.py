"""novajoin-notify: follow nova and neutron notifications to keep IPA right.

A notification is a claim: before anything is removed it is checked with nova
(and a floating IP's port with neutron). The IPA host record itself lives in
``novajoin.hosts``, shared with the API.

- ``listener``: the oslo.messaging listener (pool, requeue with a bound),
- ``handlers``: the event-type table and one small handler per event,
- ``dns``: floating-IP A/PTR records, only for hosts of the port's project,
- ``reconcile``: novajoin-reconcile, removes what notifications missed,
- ``wiring``: build all of it from join.conf.
"""
