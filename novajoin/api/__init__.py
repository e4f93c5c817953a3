"""The vendordata HTTP API (Flask)."""
from novajoin.api.app import create_app  # noqa: F401
