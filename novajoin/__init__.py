"""novajoin: enroll OpenStack instances in FreeIPA and clean up after them."""
