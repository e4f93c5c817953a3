"""novajoin.ipa_setup.errors: the one error the set-up tool raises itself."""
import importlib

import novajoin.ipa_setup
from novajoin.ipa_setup import errors
from novajoin.ipa_setup import kerberos
from novajoin.ipa_setup import rbac

# The package's ``provision`` is the function; this is its module.
provision = importlib.import_module('novajoin.ipa_setup.provision')


def test_every_module_raises_the_setup_error_the_package_exports():
    # novajoin-ipa-setup reports novajoin.ipa_setup.SetupError as an error
    # (exit 1); a second class of that name would escape as a traceback.
    assert novajoin.ipa_setup.SetupError is errors.SetupError
    for module in (kerberos, provision, rbac):
        assert module.SetupError is errors.SetupError, module.__name__
