"""The host store's tests use the notify fixtures (IPA stand-in, enroller)."""
from tests.unit.notify.conftest import enroll  # noqa: F401
from tests.unit.notify.conftest import host_ops  # noqa: F401
from tests.unit.notify.conftest import ipa  # noqa: F401
from tests.unit.notify.conftest import zones  # noqa: F401
