"""novajoin-install: join.conf, nova.conf and neutron.conf for novajoin.

``ini`` edits files line by line (comments and unknown options survive),
``settings`` says what novajoin needs in each file, ``files`` writes them or
shows the diff.
"""
