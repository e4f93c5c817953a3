"""Emit nova's own instance notifications, with nova's own code (nova 34).

Runs under the peers' venv (``$PEERS_VENV/bin/python``), which has nova, not
under novajoin's. Reads one JSON document on stdin::

    {"transport_url": "rabbit://...",      # omit to print instead of send
     "legacy_topics": ["notifications"],  "versioned_topics": ["versioned_notifications"],
     "format": "both",                     # nova's [notifications] notification_format
     "host": "compute-1",
     "control_exchange": "nova",           # nova's exchange (default "nova")
     "rabbit_quorum_queue": false,         # nova's [oslo_messaging_rabbit]
     "events": [{"event": "delete" | "update" | "rebuild", "instance": {...},
                 "old": {...}}]}

and, through ``nova.compute.utils.notify_about_instance_delete`` and
``nova.notifications.base.send_update`` (the calls nova-compute makes), sends
exactly what nova sends on delete, on update and at the end of a rebuild:
``compute.instance.delete.{start,end}`` + ``instance.delete.{start,end}``,
``compute.instance.update`` + ``instance.update``,
``compute.instance.rebuild.end`` + ``instance.rebuild.end``. Instance fields
not given get plausible defaults; the instance object is built in memory
(there is no nova database here), so anything nova would lazy-load is set up
front.

With no transport_url, it prints the messages as JSON lines instead: nova's
notifier with the ``log``-free ``test`` driver captures them.
"""
import datetime
import json
import sys
import uuid

UTC = datetime.timezone.utc


def _instance(ctx, spec, objects, network_model):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    flavor = objects.Flavor(
        id=1, flavorid='42', name='m1.small', memory_mb=2048, vcpus=1,
        root_gb=20, ephemeral_gb=0, swap=0, rxtx_factor=1.0, is_public=True,
        extra_specs={}, projects=[], disabled=False, description=None,
        vcpu_weight=0)
    vifs = []
    for index, (net, ip) in enumerate(spec.get('fixed_ips', {}).items()):
        subnet = network_model.Subnet(
            cidr=ip.rsplit('.', 1)[0] + '.0/24',
            ips=[network_model.FixedIP(
                address=ip, type='fixed', version=4,
                floating_ips=[network_model.IP(address=f, type='floating',
                                               version=4)
                              for f in spec.get('floating_ips', {}).get(net, [])])])
        vifs.append(network_model.VIF(
            id=str(uuid.UUID(int=index + 1)), address='fa:16:3e:00:00:%02x' % index,
            network=network_model.Network(id=str(uuid.UUID(int=100 + index)),
                                          label=net, subnets=[subnet]),
            type='ovs', devname='tap%d' % index, active=True))
    inst = objects.Instance(
        context=ctx, id=1, uuid=spec['uuid'], project_id=spec['project_id'],
        user_id=spec.get('user_id', 'c0ffee' * 5 + 'ab'),
        hostname=spec['hostname'], display_name=spec.get('display_name',
                                                         spec['hostname']),
        display_description=None, reservation_id='r-abcdef12',
        host=spec.get('host', 'compute-1'), node=spec.get('host', 'compute-1'),
        vm_state=spec.get('vm_state', 'active'),
        task_state=spec.get('task_state'), power_state=spec.get('power_state', 1),
        progress=0, os_type=None, architecture='x86_64', availability_zone='nova',
        image_ref=spec.get('image_ref', ''), kernel_id='', ramdisk_id='',
        key_name=None, launched_at=now, terminated_at=None, deleted_at=None,
        created_at=now, updated_at=now, locked=False, locked_by=None,
        auto_disk_config=False, access_ip_v4=None, access_ip_v6=None,
        metadata=dict(spec.get('metadata', {})), system_metadata={},
        instance_type_id=1, cell_name=None, flavor=flavor,
        info_cache=objects.InstanceInfoCache(
            instance_uuid=spec['uuid'],
            network_info=network_model.NetworkInfo(vifs)),
        keypairs=objects.KeyPairList(objects=[]), tags=objects.TagList(objects=[]))
    inst.obj_reset_changes()
    return inst


def main():
    spec = json.load(sys.stdin)
    from nova import config
    from nova import context as nova_context
    from nova import objects
    from nova import rpc
    from nova.compute import utils as compute_utils
    from nova.network import model as network_model
    from nova.notifications import base as notifications_base
    from nova.notifications.objects import base as notification_base

    objects.register_all()
    config.parse_args(['nova_emit'], configure_db=False, init_rpc=False)
    conf = config.CONF
    import oslo_messaging
    from oslo_messaging.notify import notifier as om_notifier
    from oslo_messaging import transport as om_transport
    oslo_messaging.set_transport_defaults('nova')  # as nova.rpc does
    conf.register_opts(om_transport._transport_opts)
    conf.register_opts(om_notifier._notifier_opts,
                       group='oslo_messaging_notifications')
    if spec.get('control_exchange'):
        conf.set_override('control_exchange', spec['control_exchange'])
    if spec.get('rabbit_quorum_queue'):
        from oslo_messaging import opts as om_opts
        for group, opts in om_opts.list_opts():
            conf.register_opts(opts, group=group)
        conf.set_override('rabbit_quorum_queue', True,
                          group='oslo_messaging_rabbit')
    send = 'transport_url' in spec
    conf.set_override('transport_url', spec.get('transport_url', 'fake:/'))
    conf.set_override('host', spec.get('host', 'compute-1'))
    conf.set_override('notification_format', spec.get('format', 'both'),
                      group='notifications')
    conf.set_override('notify_on_state_change', 'vm_and_task_state',
                      group='notifications')
    conf.set_override('versioned_notifications_topics',
                      spec.get('versioned_topics', ['versioned_notifications']),
                      group='notifications')
    conf.set_override('bdms_in_notifications', False, group='notifications')
    conf.set_override('driver', ['messaging' if send else 'test'],
                      group='oslo_messaging_notifications')
    conf.set_override('topics', spec.get('legacy_topics', ['notifications']),
                      group='oslo_messaging_notifications')
    # The legacy image_ref_url is built from these, without a keystone call.
    conf.set_override('api_servers', ['http://glance.example.test:9292'],
                      group='glance')
    rpc.init(conf)
    ctx = nova_context.RequestContext(user_id='c0ffee' * 5 + 'ab',
                                      project_id=spec.get('request_project',
                                                          'admin-project'),
                                      request_id='req-' + str(uuid.uuid4()))
    notifier = rpc.get_notifier('compute', conf.host)
    for event in spec['events']:
        inst = _instance(ctx, event['instance'], objects, network_model)
        if event['event'] == 'delete':
            with compute_utils.notify_about_instance_delete(
                    notifier, ctx, inst,
                    source=notification_base.fields.NotificationSource.COMPUTE):
                inst.vm_state = 'deleted'
                inst.terminated_at = inst.deleted_at = inst.updated_at
        elif event['event'] == 'rebuild':
            # nova-compute's _do_rebuild_instance, once the guest is spawned
            inst.trusted_certs = None       # a lazy field the payload reads
            compute_utils.notify_about_instance_usage(
                notifier, ctx, inst, 'rebuild.end',
                network_info=inst.info_cache.network_info,
                extra_usage_info={'image_name': 'debian-12'})
            compute_utils.notify_about_instance_rebuild(
                ctx, inst, conf.host,
                phase=notification_base.fields.NotificationPhase.END,
                bdms=objects.BlockDeviceMappingList(objects=[]))
        elif event['event'] == 'update':
            old = dict(event['instance'], **event.get('old', {}))
            old_inst = _instance(ctx, old, objects, network_model)
            notifications_base.send_update(ctx, old_inst, inst, service='compute',
                                           host=conf.host)
        else:
            raise SystemExit('unknown event %r' % event['event'])
    if not send:
        from oslo_messaging.notify import _impl_test
        for ctxt, message, priority, retry in _impl_test.NOTIFICATIONS:
            print(json.dumps({'priority': priority, 'message': message},
                             default=str))
    rpc.cleanup()


if __name__ == '__main__':
    main()
