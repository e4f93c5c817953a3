"""Notification payloads as nova 34 and neutron emit them.

nova: messages captured from nova's own code (data/nova34_*.json), re-aimed at
another instance by ``nova(...)``. neutron: built like neutron's API layer
(neutron/api/v2/base.py): ``<resource>.update.end`` carries ``{resource: dict}``
and ``<resource>.delete.end`` carries ``{resource_id: id, resource: dict}``;
the floating IP dict has ``port_details`` (fip-port-details extension,
neutron/db/l3_fip_port_details.py) and the standard attributes.
"""
import copy
import json
import pathlib
import uuid

DATA = pathlib.Path(__file__).parent / 'data'
NOVA_INSTANCE = '8a3c2f0e-5b7d-4c1e-9f6a-2d4b8e1c7a90'
NOVA_PROJECT = 'c2f4e9d07a6b4d0e8f1a2b3c4d5e6f70'


def nova_message(event_type):
    """The whole message (event_type, publisher_id, payload...) nova sent."""
    name = 'nova34_%s.json' % event_type.replace('.', '_')
    return json.loads((DATA / name).read_text())


def nova(event_type, instance=None, project=None, hostname=None, metadata=None,
         state=None):
    """nova's payload for ``event_type``, about another instance if given."""
    payload = copy.deepcopy(nova_message(event_type)['payload'])
    data = payload.get('nova_object.data')
    if data is not None:
        keys = {'uuid': instance, 'tenant_id': project, 'host_name': hostname,
                'metadata': metadata, 'state': state}
    else:
        data = payload
        keys = {'instance_id': instance, 'tenant_id': project,
                'hostname': hostname, 'metadata': metadata, 'state': state}
    for key, value in keys.items():
        if value is not None:
            data[key] = value
    return payload


def neutron_message(name):
    """A message the real neutron 29 published (data/neutron29_<name>.json)."""
    return json.loads((DATA / ('neutron29_%s.json' % name)).read_text())


def port(device_id, port_id=None, fixed_ip='10.0.0.5', owner='compute:nova',
         project=NOVA_PROJECT):
    return {
        'id': port_id or str(uuid.uuid4()), 'name': '', 'network_id': str(uuid.uuid4()),
        'tenant_id': project, 'project_id': project,
        'mac_address': 'fa:16:3e:12:34:56', 'admin_state_up': True,
        'status': 'ACTIVE', 'device_id': device_id, 'device_owner': owner,
        'fixed_ips': [{'subnet_id': str(uuid.uuid4()), 'ip_address': fixed_ip}],
        'allowed_address_pairs': [], 'extra_dhcp_opts': [],
        'security_groups': [str(uuid.uuid4())], 'description': '',
        'binding:vnic_type': 'normal', 'binding:host_id': 'compute-1',
        'binding:profile': {}, 'binding:vif_type': 'ovs',
        'binding:vif_details': {'port_filter': True},
        'port_security_enabled': True, 'dns_name': '', 'dns_assignment': [],
        'tags': [], 'created_at': '2026-01-02T03:04:05Z',
        'updated_at': '2026-01-02T03:04:06Z', 'revision_number': 3}


def floatingip(address, port_dict=None, fip_id=None, project=NOVA_PROJECT):
    """A floating IP as neutron shows it; associated when ``port_dict``."""
    details = None
    if port_dict:
        details = {key: port_dict[key] for key in (
            'name', 'network_id', 'mac_address', 'admin_state_up', 'status',
            'device_id', 'device_owner')}
    return {
        'id': fip_id or str(uuid.uuid4()), 'tenant_id': project,
        'project_id': project, 'floating_ip_address': address,
        'floating_network_id': str(uuid.uuid4()),
        'router_id': str(uuid.uuid4()) if port_dict else None,
        'port_id': port_dict['id'] if port_dict else None,
        'fixed_ip_address': (port_dict['fixed_ips'][0]['ip_address']
                             if port_dict else None),
        'status': 'ACTIVE' if port_dict else 'DOWN', 'description': '',
        'dns_domain': '', 'dns_name': '', 'port_details': details,
        'tags': [], 'created_at': '2026-01-02T03:04:05Z',
        'updated_at': '2026-01-02T03:04:07Z', 'revision_number': 2,
        'qos_policy_id': None, 'qos_network_policy_id': None,
        'port_forwardings': []}


def floatingip_update_end(fip):
    return {'floatingip': fip}


def floatingip_delete_end(fip):
    return {'floatingip_id': fip['id'], 'floatingip': fip}


def port_delete_end(port_dict):
    return {'port_id': port_dict['id'], 'port': port_dict}
