"""The IPA host record: the one home of every rule about hosts novajoin owns.

Used by both novajoin-server (enrollment) and novajoin-notify (updates,
deletes, the reconciler), so that an ownership rule is written once:

- ``records``: the ownership record kept in a host's ``userclass``
  (instance, project, cloud) and which records this cloud may act on;
- ``services``: TripleO service metadata turned into checked subhosts and
  principals, and who may ask for them (a privilege, confined to the cloud's
  domain and to allowed service types);
- ``subhosts``: which existing subhosts a host may manage, and the IPA calls
  that create and link them;
- ``create``: atomic enrollment (everything a failed request made is undone);
- ``store``: finding a cloud's hosts and removing them with what hangs off them;
- ``dns``: IPA's DNS zones, as the removal of a host needs them.
"""
