"""Compute clusters in Azure ML SDK v1's shape (azureml.core.compute).

``AmlCompute.provisioning_configuration(...)`` checks its arguments and
holds them; ``ComputeTarget.create(ws, name, config)`` creates the
cluster (``POST /api/v1/clusters``) and returns an ``AmlCompute``;
``ComputeTarget(workspace=ws, name=...)`` looks one up and raises
``ComputeTargetException`` when it does not exist.  Every error of a
compute call, local or the scheduler's, is a ComputeTargetException with
the scheduler's message and HTTP status.

drover gives a cluster at most one managed identity: system-assigned, or
one user-assigned id (``identity_id`` is a list of exactly one).
"""

import sys
import time

from ._client import DroverException, quote
from .workspace import Workspace

_PRIORITIES = ("dedicated", "lowpriority")
_IDENTITY_TYPES = ("SystemAssigned", "UserAssigned")
_MAX_I32 = 2**31 - 1


class ComputeTargetException(DroverException):
    """A compute call failed: ``message`` and ``status`` (HTTP or None)."""


def _api_call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ComputeTargetException:
        raise
    except DroverException as e:
        raise ComputeTargetException(e.message, e.status) from None


def _api(workspace):
    if not isinstance(workspace, Workspace):
        raise ComputeTargetException(
            "workspace must be a Workspace (Workspace.from_config()), not %s"
            % type(workspace).__name__
        )
    return workspace._api


def _count(name, v, allow_none=True):
    if v is None and allow_none:
        return None
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v.strip())  # Azure ML's samples pass idle seconds as '300'
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _MAX_I32:
        raise ComputeTargetException(
            "%s must be a non-negative integer, not %r" % (name, v)
        )
    return v


def _identity_value(identity_type, identity_id):
    """The scheduler's identity string: "system" or the one user id."""
    if identity_type not in _IDENTITY_TYPES:
        raise ComputeTargetException(
            "identity_type must be 'SystemAssigned' or 'UserAssigned', not %r"
            % (identity_type,)
        )
    if identity_type == "SystemAssigned":
        if identity_id:
            raise ComputeTargetException(
                "identity_id is only for identity_type='UserAssigned'"
            )
        return "system"
    if isinstance(identity_id, str):
        identity_id = [identity_id]
    if not isinstance(identity_id, (list, tuple)) or len(identity_id) != 1:
        raise ComputeTargetException(
            "identity_type='UserAssigned' needs identity_id=[ID] with exactly "
            "one id (a drover cluster holds one identity)"
        )
    if not isinstance(identity_id[0], str) or not identity_id[0]:
        raise ComputeTargetException("identity_id must hold a non-empty string")
    return identity_id[0]


class AmlComputeProvisioningConfiguration:
    """What ComputeTarget.create sends: AmlCompute.provisioning_configuration(...)."""

    def __init__(
        self,
        vm_size="",
        vm_priority="dedicated",
        min_nodes=0,
        max_nodes=None,
        idle_seconds_before_scaledown=None,
        admin_username=None,
        admin_user_password=None,
        admin_user_ssh_key=None,
        vnet_resourcegroup_name=None,
        vnet_name=None,
        subnet_name=None,
        tags=None,
        description=None,
        remote_login_port_public_access="NotSpecified",
        identity_type=None,
        identity_id=None,
        location=None,
        enable_node_public_ip=True,
    ):
        # Azure ML's parameters: those drover has no use for must stay unset
        unsupported = {
            "admin_username": admin_username,
            "admin_user_password": admin_user_password,
            "admin_user_ssh_key": admin_user_ssh_key,
            "vnet_resourcegroup_name": vnet_resourcegroup_name,
            "vnet_name": vnet_name,
            "subnet_name": subnet_name,
        }
        for k, v in unsupported.items():
            if v is not None:
                raise ComputeTargetException(
                    "%s is not supported by drover (no SSH logins, no virtual "
                    "networks)" % k
                )
        del tags, description, remote_login_port_public_access, enable_node_public_ip
        if not isinstance(vm_size, str) or not vm_size:
            raise ComputeTargetException(
                "vm_size must be a VM size name such as 'STANDARD_D2_V2'"
            )
        if vm_priority not in _PRIORITIES:
            raise ComputeTargetException(
                "vm_priority must be 'dedicated' or 'lowpriority', not %r"
                % (vm_priority,)
            )
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.min_nodes = _count("min_nodes", min_nodes, allow_none=False)
        # Azure ML's default when max_nodes is not given
        self.max_nodes = _count("max_nodes", 4 if max_nodes is None else max_nodes)
        if self.min_nodes > self.max_nodes:
            raise ComputeTargetException(
                "min_nodes (%d) is above max_nodes (%d)"
                % (self.min_nodes, self.max_nodes)
            )
        self.idle_seconds_before_scaledown = _count(
            "idle_seconds_before_scaledown", idle_seconds_before_scaledown
        )
        self.identity_type = identity_type
        self.identity_id = identity_id
        self.identity = (
            None
            if identity_type is None and identity_id is None
            else _identity_value(identity_type, identity_id)
        )
        if location is not None and (not isinstance(location, str) or not location):
            raise ComputeTargetException("location must be a non-empty string")
        self.location = location

    def body(self, name):
        b = {
            "name": name,
            "vm_size": self.vm_size,
            "vm_priority": self.vm_priority,
            "min_nodes": self.min_nodes,
            "max_nodes": self.max_nodes,
        }
        if self.idle_seconds_before_scaledown is not None:
            b["idle_seconds_before_scaledown"] = self.idle_seconds_before_scaledown
        if self.location is not None:
            b["location"] = self.location
        if self.identity is not None:
            b["identity"] = self.identity
        return b


class ScaleSettings:
    def __init__(self, min_nodes, max_nodes, idle_seconds_before_scaledown):
        self.minimum_node_count = min_nodes
        self.maximum_node_count = max_nodes
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown

    def serialize(self):
        return {
            "minNodeCount": self.minimum_node_count,
            "maxNodeCount": self.maximum_node_count,
            "nodeIdleTimeBeforeScaleDown": self.idle_seconds_before_scaledown,
        }


class AmlComputeNodeStateCounts:
    def __init__(self, c):
        self.idle_node_count = c.get("idle_nodes", 0)
        self.running_node_count = c.get("running_nodes", 0)
        self.preparing_node_count = c.get("preparing_nodes", 0)
        self.unusable_node_count = c.get("unusable_nodes", 0)
        self.leaving_node_count = c.get("leaving_nodes", 0)
        self.preempted_node_count = c.get("preempted_nodes", 0)

    def serialize(self):
        return {
            "idleNodeCount": self.idle_node_count,
            "runningNodeCount": self.running_node_count,
            "preparingNodeCount": self.preparing_node_count,
            "unusableNodeCount": self.unusable_node_count,
            "leavingNodeCount": self.leaving_node_count,
            "preemptedNodeCount": self.preempted_node_count,
        }


class AmlComputeStatus:
    """A cluster's state as get_status() returns it (Azure ML's names)."""

    def __init__(self, c):
        self.allocation_state = c.get("allocation_state", "").capitalize()
        self.current_node_count = c.get("current_nodes", 0)
        self.target_node_count = c.get("target_nodes", 0)
        self.node_state_counts = AmlComputeNodeStateCounts(c)
        self.errors = list(c.get("errors") or [])
        self.wait_reason = c.get("wait_reason", "")
        self.provisioning_state = "Succeeded"
        self.provisioning_errors = None
        self.vm_size = c.get("vm_size")
        self.vm_priority = c.get("vm_priority")
        self.scale_settings = ScaleSettings(
            c.get("min_nodes"),
            c.get("max_nodes"),
            c.get("idle_seconds_before_scaledown"),
        )

    def serialize(self):
        return {
            "allocationState": self.allocation_state,
            "currentNodeCount": self.current_node_count,
            "targetNodeCount": self.target_node_count,
            "nodeStateCounts": self.node_state_counts.serialize(),
            "errors": self.errors,
            "provisioningState": self.provisioning_state,
            "vmSize": self.vm_size,
            "vmPriority": self.vm_priority,
            "scaleSettings": self.scale_settings.serialize(),
        }


class ComputeTarget:
    """``ComputeTarget(workspace=ws, name=NAME)``: an existing cluster (an
    AmlCompute); ComputeTargetException when there is none."""

    def __new__(cls, workspace=None, name=None):
        if cls is ComputeTarget:
            cls = AmlCompute
        return object.__new__(cls)

    def __init__(self, workspace=None, name=None):
        if not isinstance(name, str) or not name:
            raise ComputeTargetException(
                "ComputeTarget(workspace=ws, name=NAME) needs the cluster's name"
            )
        api = _api(workspace)
        self.workspace = workspace
        self._set(_api_call(api.get, "/clusters/" + quote(name)))

    @staticmethod
    def create(workspace, name, provisioning_configuration):
        """Creates the cluster; returns its AmlCompute."""
        if not isinstance(provisioning_configuration, AmlComputeProvisioningConfiguration):
            raise ComputeTargetException(
                "provisioning_configuration must come from "
                "AmlCompute.provisioning_configuration(...)"
            )
        if not isinstance(name, str) or not name:
            raise ComputeTargetException("the cluster name must be a non-empty string")
        c = _api_call(_api(workspace).post, "/clusters", provisioning_configuration.body(name))
        return AmlCompute._of(workspace, c)

    @staticmethod
    def list(workspace):
        return [AmlCompute._of(workspace, c) for c in _api_call(_api(workspace).get, "/clusters")]


class AmlCompute(ComputeTarget):
    """A drover cluster (Azure ML's AmlCompute)."""

    _type = "AmlCompute"
    poll_seconds = 1.0

    # Azure ML's AmlCompute.provisioning_configuration(...): the
    # configuration's constructor, one signature
    provisioning_configuration = staticmethod(AmlComputeProvisioningConfiguration)

    @classmethod
    def _of(cls, workspace, c):
        self = object.__new__(cls)
        self.workspace = workspace
        self._set(c)
        return self

    def _set(self, c):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str):
            raise ComputeTargetException("the scheduler's cluster reply has no name")
        self._c = c
        self.name = c["name"]
        self.type = self._type
        self.vm_size = c.get("vm_size")
        self.vm_priority = c.get("vm_priority")
        self.location = c.get("location")
        self.provisioning_state = "Succeeded"
        self.provisioning_errors = None
        self.scale_settings = ScaleSettings(
            c.get("min_nodes"), c.get("max_nodes"), c.get("idle_seconds_before_scaledown")
        )
        ident = c.get("identity") or ""
        self.identity_type = (
            None if not ident else "SystemAssigned" if ident == "system" else "UserAssigned"
        )
        self.identity_id = [ident] if self.identity_type == "UserAssigned" else None
        self.principal_id = c.get("identity_principal_id") or None
        self.status = AmlComputeStatus(c)
        # the names of SDK v2's AmlCompute (client.compute.get returns this)
        self.size = self.vm_size
        self.min_instances = c.get("min_nodes")
        self.max_instances = c.get("max_nodes")
        self.idle_time_before_scale_down = c.get("idle_seconds_before_scaledown")
        self.tier = "low_priority" if self.vm_priority == "lowpriority" else "dedicated"

    def _path(self, tail=""):
        return "/clusters/" + quote(self.name) + tail

    def refresh_state(self):
        self._set(_api_call(self.workspace._api.get, self._path()))

    def get_status(self):
        """The cluster's current AmlComputeStatus (read from the scheduler)."""
        self.refresh_state()
        return self.status

    def wait_for_completion(self, show_output=False, min_node_count=None,
                            timeout_in_minutes=25, is_delete_operation=False):
        """Waits until the cluster is steady with at least min_node_count
        nodes (default: its min_nodes); ComputeTargetException on timeout,
        with the cluster's errors."""
        del is_delete_operation
        want = self.scale_settings.minimum_node_count if min_node_count is None else min_node_count
        want = _count("min_node_count", want, allow_none=False)
        deadline = time.monotonic() + float(timeout_in_minutes) * 60
        last = None
        while True:
            s = self.get_status()
            line = "%s: %d of %d nodes (target %d; idle %d, running %d, preparing %d)" % (
                s.allocation_state, s.current_node_count, want, s.target_node_count,
                s.node_state_counts.idle_node_count, s.node_state_counts.running_node_count,
                s.node_state_counts.preparing_node_count)
            if show_output and line != last:
                print(line)
                for e in s.errors:
                    print("  error: %s" % e)
                sys.stdout.flush()
            last = line
            if s.allocation_state == "Steady" and s.current_node_count >= want:
                break
            if time.monotonic() >= deadline:
                raise ComputeTargetException(
                    "cluster %s not steady at %d nodes after %s minutes (%s)%s"
                    % (self.name, want, timeout_in_minutes, line,
                       "; errors: " + "; ".join(s.errors) if s.errors else ""))
            time.sleep(self.poll_seconds)
        if show_output:
            print("Succeeded")
            print("AmlCompute wait for completion finished\n")
            print("Minimum number of nodes requested have been provisioned")
            sys.stdout.flush()

    def update(self, min_nodes=None, max_nodes=None, idle_seconds_before_scaledown=None):
        """Changes the scale settings given (PATCH); the others stay."""
        body = {}
        for k, v in (("min_nodes", min_nodes), ("max_nodes", max_nodes),
                     ("idle_seconds_before_scaledown", idle_seconds_before_scaledown)):
            v = _count(k, v)
            if v is not None:
                body[k] = v
        if not body:
            raise ComputeTargetException(
                "update needs min_nodes, max_nodes or idle_seconds_before_scaledown")
        self._set(_api_call(self.workspace._api.patch, self._path(), body))

    def delete(self):
        """Deletes the cluster (it must be idle: 409 otherwise)."""
        _api_call(self.workspace._api.delete, self._path())
        self.provisioning_state = "Deleted"

    def add_identity(self, identity_type, identity_id=None):
        """Gives the cluster a managed identity (it replaces the one it had:
        a drover cluster holds one)."""
        value = _identity_value(identity_type, identity_id)
        self._set(_api_call(self.workspace._api.post, self._path("/identity"),
                            {"identity": value}))

    def remove_identity(self, identity_type=None, identity_id=None):
        """Removes the cluster's managed identity."""
        del identity_type, identity_id
        self._set(_api_call(self.workspace._api.post, self._path("/identity"),
                            {"identity": ""}))

    def get(self):
        """The cluster as the scheduler returns it (drover's JSON keys)."""
        self.refresh_state()
        return dict(self._c)

    def serialize(self):
        return {
            "name": self.name,
            "type": self.type,
            "location": self.location,
            "properties": {
                "vmSize": self.vm_size,
                "vmPriority": self.vm_priority,
                "scaleSettings": self.scale_settings.serialize(),
                "identityType": self.identity_type,
                "identityId": self.identity_id,
            },
            "status": self.status.serialize(),
        }

    def __repr__(self):
        return "AmlCompute(workspace=%r, name=%r, vm_size=%r, provisioning_state=%r)" % (
            self.workspace, self.name, self.vm_size, self.provisioning_state)
