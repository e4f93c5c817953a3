"""Set up novajoin's identity in IPA (``novajoin-ipa-setup``).

``provision(admin_client, hostname, keytab, ...)`` converges IPA to: the
service principal ``nova/<hostname>``, the ``Nova Host Manager`` role holding
the ``Nova Host Management`` privilege with exactly the permissions in
``rbac``, the principal in that role, and a keytab with working keys.
"""
from novajoin.ipa_setup.errors import SetupError  # noqa: F401
from novajoin.ipa_setup.provision import provision, Report  # noqa: F401
from novajoin.ipa_setup.rbac import PRIVILEGE, ROLE  # noqa: F401
