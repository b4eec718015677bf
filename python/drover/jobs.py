"""Jobs in Azure ML SDK v2's shape (azure.ai.ml): ``command(...)``,
``MLClient`` and its ``jobs`` and ``compute`` operations.

A job's ``name`` is its drover id (a string of digits); its ``status``
uses Azure ML's words (Queued, Starting, Running, Completed, Failed,
Canceled) and ``state`` keeps drover's (queued ... succeeded, failed,
canceled, timeout: a job over its time limit is Failed).
``command="..."`` runs as ``sh -c "..."`` on each node.
"""

import os
import re
import sys
import time

from . import _code
from ._client import DroverException, UserErrorException, quote
from .compute import AmlCompute
from .workspace import Workspace

_STATUS = {
    "queued": "Queued",
    "starting": "Starting",
    "running": "Running",
    "succeeded": "Completed",
    "failed": "Failed",
    "canceled": "Canceled",
    "timeout": "Failed",
}
_TERMINAL = ("succeeded", "failed", "canceled", "timeout")
_MAX_I32 = 2**31 - 1


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


class JobException(DroverException):
    """A job call failed, or a streamed job ended Failed (``job`` is then
    the job, its ``reason`` in the message)."""

    def __init__(self, message, status=None, job=None):
        super().__init__(message, status)
        self.job = job


def _jobs_call(fn, *args):
    try:
        return fn(*args)
    except JobException:
        raise
    except DroverException as e:
        raise JobException(e.message, e.status) from None


def _uint(name, v, lo=0, hi=_MAX_I32):
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise UserErrorException("%s must be an integer %d-%d, not %r" % (name, lo, hi, v))
    return v


class PyTorchDistribution:
    type = "pytorch"

    def __init__(self, *, process_count_per_instance=1):
        self.process_count_per_instance = process_count_per_instance


class MpiDistribution:
    type = "mpi"

    def __init__(self, *, process_count_per_instance=1):
        self.process_count_per_instance = process_count_per_instance


class TensorFlowDistribution:
    """Azure ML's TensorFlowDistribution: worker_count workers in all (None:
    one per node) and parameter_server_count "ps" tasks, each with its
    TF_CONFIG."""

    type = "tensorflow"

    def __init__(self, *, parameter_server_count=0, worker_count=None):
        self.parameter_server_count = parameter_server_count
        self.worker_count = worker_count


class Environment:
    """A docker image for the job's containers (Azure ML's Environment(image=...))."""

    def __init__(self, *, image=None, name=None, **kwargs):
        if kwargs:
            raise UserErrorException(
                "Environment: only image= is supported by drover (not %s)"
                % ", ".join(sorted(kwargs))
            )
        self.image = image
        self.name = name


_DIST_KEYS = {
    "pytorch": ("process_count_per_instance",),
    "mpi": ("process_count_per_instance",),
    "tensorflow": ("worker_count", "parameter_server_count"),
}


def _distribution(d):
    """The job body's fields of command()'s distribution= ({} for none):
    distribution and procs_per_node, or (tensorflow) worker_count and
    parameter_server_count."""
    if d is None:
        return {}
    if isinstance(d, dict):
        t = d.get("type")
    else:
        t = getattr(d, "type", None)
    if not isinstance(t, str) or t.lower() not in _DIST_KEYS:
        raise UserErrorException(
            "distribution type must be 'pytorch', 'mpi' or 'tensorflow', not %r" % (t,)
        )
    t = t.lower()
    keys = _DIST_KEYS[t]
    if isinstance(d, dict):
        unknown = set(d) - {"type"} - set(keys)
        if unknown:
            raise UserErrorException(
                "distribution: unknown key(s) %s (type, %s)"
                % (", ".join(sorted(unknown)), ", ".join(keys))
            )
        get = d.get
    else:
        get = lambda k, dflt: getattr(d, k, dflt)  # noqa: E731
    if t != "tensorflow":
        n = get("process_count_per_instance", 1)
        return {
            "distribution": t,
            "procs_per_node": _uint("distribution.process_count_per_instance", n, 1, 1024),
        }
    b = {"distribution": t}
    w = get("worker_count", None)
    if w is not None:
        b["worker_count"] = _uint("distribution.worker_count", w, 1, 256)
    p = get("parameter_server_count", 0)
    b["parameter_server_count"] = _uint("distribution.parameter_server_count", p, 0, 256)
    return b


def _env_list(ev):
    if ev is None:
        return []
    if not isinstance(ev, dict):
        raise UserErrorException("environment_variables must be a dict of str to str")
    out = []
    for k, v in ev.items():
        if not isinstance(k, str) or not k or "=" in k or "\0" in k:
            raise UserErrorException("environment variable name %r is not valid" % (k,))
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise UserErrorException(
                "environment variable %s: value must be a string, not %s"
                % (k, type(v).__name__)
            )
        out.append({"key": k, "value": str(v)})
    return out


def _image(env):
    if env is None:
        return None
    image = env if isinstance(env, str) else getattr(env, "image", None)
    if not isinstance(image, str) or not image:
        raise UserErrorException(
            "environment must be a docker image reference or Environment(image=...)"
        )
    if image.startswith("azureml:") or image.endswith("@latest"):
        raise UserErrorException(
            "environment %r is an Azure ML registered environment; drover runs "
            "docker images: give an image reference such as 'python:3.11-slim'"
            % image
        )
    return image


class Output:
    """A named output of a command job (Azure ML's ``Output``): a folder
    ``outputs/NAME`` in the job's working directory on each node, made
    before the command starts (its path in ``AZURE_ML_OUTPUT_NAME``) and
    collected when the job ends, for ``MLClient.jobs.download``.  Only
    ``type="uri_folder"`` without a ``path`` (drover has no datastores)."""

    def __init__(self, *, type="uri_folder", path=None, mode=None, **kwargs):
        del mode, kwargs
        if type != "uri_folder":
            raise UserErrorException("Output type %r: drover collects uri_folder outputs" % (type,))
        if path is not None:
            raise UserErrorException(
                "Output path= is a datastore drover cannot write; leave it out "
                "(the job writes to outputs/NAME)")
        self.type = type


def _outputs(outputs):
    """The names of command()'s outputs= (a dict of name -> Output, a dict
    of its keys, or None)."""
    if outputs is None:
        return []
    if not isinstance(outputs, dict):
        raise UserErrorException("outputs must be a dict of name -> Output()")
    names = []
    for name, o in outputs.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise UserErrorException(
                "output name %r: 1-63 letters, digits, - and _, starting "
                "with a letter or digit" % (name,))
        if isinstance(o, dict):
            Output(**o)
        elif o is not None and not isinstance(o, Output):
            raise UserErrorException("output %r must be an Output()" % name)
        names.append(name)
    return names


class Command:
    """A command job (made by command(); returned by the jobs operations)."""

    type = "command"

    def __init__(self):
        self.name = None
        self.id = None
        self.display_name = None
        self.status = None
        self.state = None
        self.command = None
        self.code = None
        self.environment = None
        self.compute = None
        self.instance_count = 1
        self.distribution = None
        self.environment_variables = {}
        self.exit_code = None
        self.reason = None
        self.nodes = []
        self.owner = None
        self.outputs = []
        self.extra = {}

    def _body(self, max_code_bytes, pack_code=True):
        if isinstance(self.command, str):
            if not self.command.strip():
                raise UserErrorException("command must not be empty")
            argv = ["sh", "-c", self.command]
        elif isinstance(self.command, (list, tuple)) and self.command and all(
            isinstance(a, str) for a in self.command
        ):
            argv = list(self.command)
        else:
            raise UserErrorException(
                "command must be a shell command line (a string) or a list of strings"
            )
        if not isinstance(self.compute, str) or not self.compute:
            raise UserErrorException("compute must name a cluster")
        b = {
            "cluster": self.compute,
            "command": argv,
            "node_count": _uint("instance_count", self.instance_count, 1, 4096),
        }
        b.update(_distribution(self.distribution))
        if self.display_name is not None:
            if not isinstance(self.display_name, str):
                raise UserErrorException("display_name must be a string")
            b["name"] = self.display_name
        env = _env_list(self.environment_variables)
        if env:
            b["env"] = env
        image = _image(self.environment)
        if image:
            b["image"] = image
        for k, v in self.extra.items():
            b[k] = _uint(k, v)
        if self.outputs:
            b["outputs"] = list(self.outputs)
        if self.code is not None and pack_code:
            b["code"] = _code.pack(self.code, max_code_bytes)
        return b

    @classmethod
    def _of(cls, j, client):
        self = cls()
        self._client = client
        self._set(j)
        return self

    def _set(self, j):
        if not isinstance(j, dict) or "id" not in j:
            raise JobException("the scheduler's job reply has no id")
        self.id = j["id"]
        self.name = str(j["id"])
        self.display_name = j.get("name") or None
        self.state = j.get("state")
        self.status = _STATUS.get(self.state, self.state)
        argv = j.get("command") or []
        self.command = (
            argv[2] if len(argv) == 3 and argv[:2] == ["sh", "-c"] else argv
        )
        self.compute = j.get("cluster")
        self.instance_count = j.get("node_count", 1)
        dist = j.get("distribution") or ""
        if dist == "tensorflow":
            self.distribution = {
                "type": dist,
                "worker_count": j.get("worker_count", 0),
                "parameter_server_count": j.get("parameter_server_count", 0),
            }
        elif dist:
            self.distribution = {
                "type": dist,
                "process_count_per_instance": j.get("procs_per_node", 1),
            }
        else:
            self.distribution = None
        self.environment = j.get("image") or None
        self.environment_variables = {
            e.get("key"): e.get("value") for e in (j.get("env") or [])
        }
        self.exit_code = j.get("exit_code")
        self.reason = j.get("reason") or None
        self.nodes = list(j.get("nodes") or [])
        self.owner = j.get("owner")
        self.outputs = list(j.get("outputs") or [])
        self._json = j

    def __repr__(self):
        return "Command(name=%r, display_name=%r, status=%r, compute=%r)" % (
            self.name, self.display_name, self.status, self.compute)


def command(*, code=None, command=None, environment=None, compute=None,
            instance_count=None, distribution=None, environment_variables=None,
            display_name=None, description=None, experiment_name=None,
            inputs=None, outputs=None, cpus=None, memory_mb=None, gpus=None,
            priority=None, max_retries=None, time_limit_s=None,
            time_limit_ms=None):
    """A command job to submit with MLClient.jobs.create_or_update.

    Azure ML's parameters; ``outputs`` takes named ``Output()`` folders
    (collected for ``jobs.download``); ``inputs`` is not supported (put
    local data in ``code``).  The drover extras cpus, memory_mb, gpus,
    priority, max_retries, time_limit_s and time_limit_ms (the limit in
    milliseconds) are the keys of POST /api/v1/jobs."""
    del description, experiment_name
    if inputs:
        raise UserErrorException(
            "inputs= is not supported by drover's SDK; put local data in code= "
            "(or use a job file's inputs with drover job create -f)")
    j = Command()
    j.outputs = _outputs(outputs)
    j.code = code
    j.command = command
    j.environment = environment
    j.compute = compute
    j.instance_count = 1 if instance_count is None else instance_count
    j.distribution = distribution
    j.environment_variables = dict(environment_variables or {})
    j.display_name = display_name
    for k, v in (("cpus", cpus), ("memory_mb", memory_mb), ("gpus", gpus),
                 ("priority", priority), ("max_retries", max_retries),
                 ("time_limit_s", time_limit_s),
                 ("time_limit_ms", time_limit_ms)):
        if v is not None:
            j.extra[k] = v
    # the checks that need no scheduler, now (as Azure ML's builder does)
    j._body(0, pack_code=False)
    return j


def _job_path(name, tail=""):
    s = str(name) if isinstance(name, int) and not isinstance(name, bool) else name
    if not isinstance(s, str) or not s.isdigit() or s.startswith("0"):
        raise JobException("%r is not a drover job name (its id, e.g. '42')" % (name,))
    return "/jobs/" + quote(s) + tail


class _CancelPoller:
    """What begin_cancel returns: result() waits until the job has ended."""

    def __init__(self, ops, name):
        self._ops, self._name = ops, name

    def done(self):
        return self._ops.get(self._name).state in _TERMINAL

    def result(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done():
            if deadline is not None and time.monotonic() >= deadline:
                raise JobException("job %s not ended after %s s" % (self._name, timeout))
            time.sleep(self._ops.poll_seconds)

    wait = result


class JobOperations:
    """client.jobs"""

    poll_seconds = 0.5

    def __init__(self, client):
        self._client = client
        self._api = client.workspace._api

    def create_or_update(self, job, **kwargs):
        """Submits JOB (a new drover job each time); returns it with .name
        (its id) and .status."""
        del kwargs
        if not isinstance(job, Command):
            raise UserErrorException("create_or_update takes a job made by command()")
        body = job._body(self._client.max_code_bytes)
        r = _jobs_call(self._api.post, "/jobs", body)
        if not isinstance(r, dict) or not isinstance(r.get("id"), int):
            raise JobException("the scheduler's reply to the submission has no id")
        return self.get(r["id"])

    def get(self, name):
        return Command._of(_jobs_call(self._api.get, _job_path(name)), self._client)

    def list(self, compute=None):
        """Every job (of one cluster with compute=), oldest first."""
        after, out = 0, []
        while True:
            q = {"limit": 1000, "after_id": after}
            if compute:
                q["cluster"] = compute
            page = _jobs_call(self._api.get, "/jobs", q)
            out += [Command._of(j, self._client) for j in page["jobs"]]
            if not page.get("more") or not page["jobs"]:
                return out
            after = page["jobs"][-1]["id"]

    def cancel(self, name):
        """Cancels the job; returns the scheduler's message."""
        return _jobs_call(self._api.post, _job_path(name, "/cancel"))["message"]

    def begin_cancel(self, name):
        self.cancel(name)
        return _CancelPoller(self, name)

    def stream(self, name, out=None):
        """Prints the job's log as it grows until the job has ended, then
        its summary; returns the job.  JobException when it failed (or ran
        past its time limit), with its reason."""
        out = out or sys.stdout
        path = _job_path(name, "/logs")
        job = self.get(name)
        out.write("RunId: %s\n" % job.name)
        if job.display_name:
            out.write("Display name: %s\n" % job.display_name)
        out.write("\nStreaming logs of job %s on %s\n%s\n" % (job.name, job.compute, "=" * 40))
        out.flush()
        offset = 0
        while True:
            r = _jobs_call(self._api.get, path, {"offset": offset, "max_bytes": 65536})
            if r["data"]:
                out.write(r["data"])
                out.flush()
            moved = r["next_offset"] != offset
            offset = r["next_offset"]
            if r["eof"]:
                break
            if not moved:
                time.sleep(self.poll_seconds)
        job = self.get(name)
        out.write("\nExecution Summary\n=================\nRunId: %s\nStatus: %s\n"
                  % (job.name, job.status))
        if job.reason:
            out.write("Reason: %s\n" % job.reason)
        out.flush()
        if job.state in ("failed", "timeout"):
            raise JobException(
                "job %s %s: %s" % (job.name, job.state, job.reason or "no reason given"),
                job=job,
            )
        return job


    def download(self, name, download_path=".", output_name=None, all=False):
        """Unpacks the outputs the job's nodes collected into
        DOWNLOAD_PATH/named-outputs/ (only OUTPUT_NAME's folder, when
        given), as Azure ML lays them out; node rank 0's copy wins where
        two nodes wrote one file.  JobException when the job has not ended
        or collected nothing (or not that output)."""
        del all
        if output_name is not None and (
                not isinstance(output_name, str) or not _NAME.match(output_name)):
            raise UserErrorException("output_name %r is not a name" % (output_name,))
        dest = os.path.join(os.fspath(download_path), "named-outputs")
        path = _job_path(name, "/outputs")
        first = _jobs_call(self._api.get, path, {"node_rank": 0})
        nodes, found, entries = int(first.get("nodes") or 1), 0, 0
        for rank in range(nodes - 1, -1, -1):
            r = first if rank == 0 else _jobs_call(self._api.get, path, {"node_rank": rank})
            if r.get("found"):
                found += 1
                entries += _code.unpack(r.get("data") or "", dest, output_name)
        if not found or (output_name and not entries):
            st = first.get("state") or "unknown"
            if st not in _TERMINAL:
                raise JobException("job %s is %s: its outputs are collected when it ends"
                                   % (name, st))
            raise JobException("job %s has no output %s" % (
                name, repr(output_name) if output_name else "(nothing under outputs/)"))
        return dest


class ComputeOperations:
    """client.compute: the clusters (AmlCompute objects)."""

    def __init__(self, client):
        self._ws = client.workspace

    def get(self, name):
        return AmlCompute(workspace=self._ws, name=name)

    def list(self):
        return AmlCompute.list(self._ws)


class MLClient:
    """``MLClient.from_config()`` (the config.json of Workspace.from_config)
    or ``MLClient(credential, endpoint=URL)`` where credential is the API
    token or has get_token(scope).token."""

    def __init__(self, credential=None, subscription_id=None,
                 resource_group_name=None, workspace_name=None, *,
                 endpoint=None, workspace=None, max_code_bytes=_code.MAX_CODE_BYTES,
                 **kwargs):
        del subscription_id, resource_group_name, kwargs
        if workspace is None:
            if endpoint is None:
                raise UserErrorException(
                    "MLClient needs endpoint= (the scheduler's HTTP URL) or use "
                    "MLClient.from_config()"
                )
            token = credential
            if token is not None and not isinstance(token, str):
                getter = getattr(token, "get_token", None)
                if getter is None:
                    raise UserErrorException(
                        "credential must be the API token or have get_token(scope)"
                    )
                token = getattr(getter("drover"), "token", None)
            workspace = Workspace(endpoint, token, workspace_name)
        if not isinstance(workspace, Workspace):
            raise UserErrorException("workspace must be a Workspace, not %s" % type(workspace).__name__)
        self.workspace = workspace
        self.max_code_bytes = max_code_bytes
        self.jobs = JobOperations(self)
        self.compute = ComputeOperations(self)

    @classmethod
    def from_config(cls, credential=None, *, path=None, file_name=None, **kwargs):
        del credential, file_name
        return cls(workspace=Workspace.from_config(path), **kwargs)

    def __repr__(self):
        return "MLClient(endpoint=%r)" % self.workspace.endpoint
