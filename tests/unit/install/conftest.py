"""Sample config files for the novajoin-install tests (here and
tests/unit/cmd/test_install.py)."""

NOVA_CONF = """\
# nova.conf of a controller; this comment must survive.
[DEFAULT]
transport_url = rabbit://nova:RabbitPass@ctl:5672/
my_ip = 10.0.0.1

[api]
# Vendordata providers (list value)
#vendordata_providers = StaticJSON
auth_strategy = keystone

[database]
connection = mysql+pymysql://nova:DbPass@ctl/nova

[keystone_authtoken]
www_authenticate_uri = http://ctl:5000/
auth_url = http://ctl:5000/
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = NovaPass

[oslo_messaging_notifications]
# noop until someone listens
driver = noop
"""
