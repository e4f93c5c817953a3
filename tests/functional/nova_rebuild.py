"""What nova writes for a rebuild, with nova's own objects (nova 34).

Runs under the peers' venv, like ``peers/nova_api_seed.py`` (whose set-up it
reuses): the nova-api peer serves no server actions (they need conductor and
compute), so this writes what they would leave for ``POST
/servers/{id}/action {"rebuild": ...}``: the instance action ``rebuild``
(``InstanceAction.action_start`` under the API request's request id, as
nova-api's ``compute.API.rebuild`` records it, then ``action_finish`` as
compute's event reporter does), and the instance ACTIVE again with no task.
nova-api then lists it at ``GET /servers/{id}/os-instance-actions``.

Usage: nova_rebuild.py UUID  ->  {"request_id": "req-...", "start_time": ...}
"""
import json
import os
import sys

sys.path.insert(0, os.environ.get('PEERS_DIR', os.getcwd()))
import nova_api_seed  # noqa: E402 - the peer's own set-up of nova's objects


def rebuild(instance_uuid):
    from nova.compute import instance_actions
    from nova.compute import task_states
    from nova.compute import vm_states
    from nova import context as nova_context
    from nova import objects
    from oslo_context import context as oslo_context
    admin = nova_api_seed._nova()
    cell = nova_api_seed._cell1(admin)
    with nova_context.target_cell(admin, cell) as cctxt:
        inst = objects.Instance.get_by_uuid(cctxt, instance_uuid)
        # the API request: a new request id, the instance's owner
        ctxt = nova_context.RequestContext(
            user_id=inst.user_id, project_id=inst.project_id,
            request_id=oslo_context.generate_request_id())
        nova_context.set_target_cell(ctxt, cell)
        inst.task_state = task_states.REBUILDING
        inst.save()
        action = objects.InstanceAction.action_start(
            ctxt, inst.uuid, instance_actions.REBUILD)
        # compute: the guest re-imaged and started again
        inst.vm_state = vm_states.ACTIVE
        inst.task_state = None
        inst.save()
        objects.InstanceAction.action_finish(ctxt, inst.uuid)
    return {'request_id': action.request_id,
            'start_time': action.start_time.isoformat()}


if __name__ == '__main__':
    print(json.dumps(rebuild(sys.argv[1])))
