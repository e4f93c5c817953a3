"""FreeIPA JSON-RPC client."""
from novajoin.ipa.client import IPAClient  # noqa: F401
from novajoin.ipa.errors import *  # noqa: F401,F403
