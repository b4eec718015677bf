"""config.json search and checks (Workspace.from_config, MLClient.from_config)
and the arguments the SDK refuses before any request.  No scheduler needed:
these are pure (files in temporary directories).  Run by
tests/integration/test_python_sdk.sh, or by hand:

    PYTHONPATH=python /usr/bin/python3 -m unittest discover -s tests/python
"""

import json
import os
import tempfile
import unittest

from drover import (
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    MLClient,
    TensorFlowDistribution,
    UserErrorException,
    Workspace,
    command,
)

GOOD = {"endpoint": "http://127.0.0.1:1", "token": "drv_abc"}


class ConfigSearch(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="drover-cfg.")
        self.cwd = os.getcwd()
        for d in _parents(self.root):
            for f in ("config.json", os.path.join(".azureml", "config.json")):
                if os.path.exists(os.path.join(d, f)):
                    self.skipTest("a %s above the temp dir: %s" % (f, d))

    def tearDown(self):
        os.chdir(self.cwd)
        for base, dirs, files in os.walk(self.root, topdown=False):
            for f in files:
                os.unlink(os.path.join(base, f))
            for d in dirs:
                os.rmdir(os.path.join(base, d))
        os.rmdir(self.root)

    def write(self, rel, obj):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(obj if isinstance(obj, str) else json.dumps(obj))
        return p

    def test_file_path(self):
        p = self.write("a/my.json", dict(GOOD, workspace_name="lab"))
        ws = Workspace.from_config(path=p)
        self.assertEqual(ws.config_file, p)
        self.assertEqual(ws.endpoint, "http://127.0.0.1:1")
        self.assertEqual(ws.name, "lab")

    def test_dir_and_parents(self):
        p = self.write("config.json", GOOD)
        deep = os.path.join(self.root, "x", "y", "z")
        os.makedirs(deep)
        self.assertEqual(Workspace.from_config(path=deep).config_file, p)
        os.chdir(deep)  # the default: the current directory and up
        self.assertEqual(Workspace.from_config().config_file, p)
        self.assertEqual(MLClient.from_config().workspace.config_file, p)

    def test_azureml_subdir(self):
        p = self.write(".azureml/config.json", GOOD)
        os.makedirs(os.path.join(self.root, "src"))
        os.chdir(os.path.join(self.root, "src"))
        self.assertEqual(Workspace.from_config().config_file, p)

    def test_nearest_wins(self):
        self.write("config.json", GOOD)
        near = self.write("sub/.azureml/config.json", dict(GOOD, token="drv_near"))
        ws = Workspace.from_config(path=os.path.join(self.root, "sub"))
        self.assertEqual(ws.config_file, near)
        self.assertEqual(ws._api.token, "drv_near")
        # in one directory, config.json before .azureml/config.json
        top = self.write("sub/config.json", GOOD)
        self.assertEqual(Workspace.from_config(path=os.path.join(self.root, "sub")).config_file, top)

    def test_api_suffix_kept_once(self):
        p = self.write("config.json", dict(GOOD, endpoint="http://h:9/api/v1/"))
        self.assertEqual(Workspace.from_config(path=p).endpoint, "http://h:9")

    def assertConfigError(self, content, needle):
        p = self.write("config.json", content)
        with self.assertRaises(UserErrorException) as cm:
            Workspace.from_config(path=p)
        self.assertIn(needle, str(cm.exception))
        self.assertIsNone(cm.exception.status)

    def test_missing(self):
        with self.assertRaises(UserErrorException) as cm:
            Workspace.from_config(path=self.root)
        self.assertIn("no config.json found in " + self.root, str(cm.exception))
        with self.assertRaises(UserErrorException) as cm:
            Workspace.from_config(path=os.path.join(self.root, "nope"))
        self.assertIn("does not exist", str(cm.exception))
        with self.assertRaises(UserErrorException):
            Workspace.from_config(path=42)

    def test_bad_files(self):
        self.assertConfigError("{not json", "is not valid JSON")
        self.assertConfigError(b"\xff\xfe".decode("latin-1"), "is not valid JSON")
        self.assertConfigError("[1, 2]", "must hold a JSON object")
        self.assertConfigError({"token": "drv_x"}, "has no 'endpoint' key")
        self.assertConfigError({"endpoint": "http://h:1"}, "has no 'token' key")
        self.assertConfigError(dict(GOOD, endpoint=9090), "'endpoint' must be a non-empty string")
        self.assertConfigError(dict(GOOD, endpoint=""), "'endpoint' must be a non-empty string")
        self.assertConfigError(dict(GOOD, endpoint="ftp://h"), "is not an http:// or https:// URL")
        self.assertConfigError(dict(GOOD, endpoint="127.0.0.1:9090"), "is not an http://")
        self.assertConfigError(dict(GOOD, endpoint="http://h:99999"), "has a bad port")
        self.assertConfigError(dict(GOOD, endpoint="http://h:1/?a=b"), "must not carry a query")
        self.assertConfigError(dict(GOOD, token=["drv_x"]), "'token' must be a non-empty string")
        self.assertConfigError(dict(GOOD, token=""), "'token' must be a non-empty string")
        self.assertConfigError(dict(GOOD, token="drv_a b"), "spaces or control characters")

    def test_unreadable(self):
        if os.geteuid() == 0:
            self.skipTest("root reads a file of mode 000")
        p = self.write("config.json", GOOD)
        os.chmod(p, 0)
        with self.assertRaises(UserErrorException) as cm:
            Workspace.from_config(path=p)
        self.assertIn("cannot read", str(cm.exception))


class LocalChecks(unittest.TestCase):
    """Arguments refused before any request (no scheduler is asked)."""

    def assertCompute(self, needle, **kw):
        with self.assertRaises(ComputeTargetException) as cm:
            AmlCompute.provisioning_configuration(**kw)
        self.assertIn(needle, str(cm.exception))

    def test_provisioning_configuration(self):
        c = AmlCompute.provisioning_configuration(vm_size="STANDARD_D2_V2")
        self.assertEqual((c.min_nodes, c.max_nodes, c.vm_priority), (0, 4, "dedicated"))
        c = AmlCompute.provisioning_configuration(vm_size="S", idle_seconds_before_scaledown="300")
        self.assertEqual(c.idle_seconds_before_scaledown, 300)
        self.assertCompute("vm_size must be", vm_size="")
        self.assertCompute("vm_priority must be", vm_size="S", vm_priority="spot")
        self.assertCompute("min_nodes (3) is above max_nodes (2)", vm_size="S", min_nodes=3, max_nodes=2)
        self.assertCompute("max_nodes must be a non-negative integer", vm_size="S", max_nodes=-1)
        self.assertCompute("max_nodes must be a non-negative integer", vm_size="S", max_nodes=True)
        self.assertCompute("max_nodes must be a non-negative integer", vm_size="S", max_nodes=1.5)
        self.assertCompute("identity_type must be", vm_size="S", identity_type="Both")
        self.assertCompute("exactly one id", vm_size="S", identity_type="UserAssigned")
        self.assertCompute("exactly one id", vm_size="S", identity_type="UserAssigned", identity_id=["a", "b"])
        self.assertCompute("only for identity_type='UserAssigned'", vm_size="S",
                           identity_type="SystemAssigned", identity_id=["a"])
        self.assertCompute("vnet_name is not supported", vm_size="S", vnet_name="v")
        self.assertCompute("location must be", vm_size="S", location="")
        cfg = AmlCompute.provisioning_configuration(vm_size="S")
        with self.assertRaises(ComputeTargetException) as cm:
            ComputeTarget.create("ws", "c", cfg)
        self.assertIn("workspace must be a Workspace", str(cm.exception))
        with self.assertRaises(ComputeTargetException) as cm:
            ComputeTarget(workspace=None, name="c")
        self.assertIn("workspace must be a Workspace", str(cm.exception))
        ws = Workspace("http://127.0.0.1:1", "drv_x")
        with self.assertRaises(ComputeTargetException) as cm:
            ComputeTarget(workspace=ws, name="")
        self.assertIn("needs the cluster's name", str(cm.exception))
        with self.assertRaises(ComputeTargetException) as cm:
            ComputeTarget.create(ws, "c", {"vm_size": "S"})
        self.assertIn("must come from AmlCompute.provisioning_configuration", str(cm.exception))

    def assertJob(self, needle, **kw):
        with self.assertRaises(UserErrorException) as cm:
            command(**kw)
        self.assertIn(needle, str(cm.exception))

    def test_command(self):
        ok = dict(command="echo hi", compute="cpu")
        j = command(**ok, distribution={"type": "PyTorch", "process_count_per_instance": 2})
        self.assertEqual(j._body(0)["distribution"], "pytorch")
        self.assertEqual(j._body(0)["procs_per_node"], 2)
        self.assertEqual(j._body(0)["command"], ["sh", "-c", "echo hi"])
        self.assertJob("command must be", compute="cpu")
        self.assertJob("command must not be empty", command=" ", compute="cpu")
        self.assertJob("compute must name a cluster", command="true")
        b = command(**ok, instance_count=2, distribution={"type": "TensorFlow", "worker_count": 3})._body(0)
        self.assertEqual((b["distribution"], b["worker_count"], b["parameter_server_count"]),
                         ("tensorflow", 3, 0))
        self.assertNotIn("procs_per_node", b)
        b = command(**ok, distribution=TensorFlowDistribution(parameter_server_count=1))._body(0)
        self.assertEqual((b["distribution"], b["parameter_server_count"]), ("tensorflow", 1))
        self.assertNotIn("worker_count", b)  # the scheduler's default: one a node
        self.assertJob("distribution type must be", **ok, distribution={"type": "horovod"})
        self.assertJob("unknown key(s) worker_count", **ok, distribution={"type": "mpi", "worker_count": 2})
        self.assertJob("unknown key(s) process_count_per_instance", **ok,
                       distribution={"type": "tensorflow", "process_count_per_instance": 2})
        self.assertJob("worker_count must be", **ok,
                       distribution={"type": "tensorflow", "worker_count": "two"})
        self.assertJob("parameter_server_count must be", **ok,
                       distribution=TensorFlowDistribution(parameter_server_count=-1))
        self.assertJob("process_count_per_instance must be", **ok,
                       distribution={"type": "mpi", "process_count_per_instance": 0})
        self.assertJob("instance_count must be", **ok, instance_count=0)
        self.assertJob("value must be a string", **ok, environment_variables={"A": [1]})
        self.assertJob("name 'A=B' is not valid", **ok, environment_variables={"A=B": "1"})
        self.assertJob("registered environment", **ok, environment="azureml:AzureML-sklearn@latest")
        self.assertJob("inputs= is not supported", **ok, inputs={"x": 1})
        self.assertJob("output name 'a b'", **ok, outputs={"a b": None})
        self.assertJob("must be an Output()", **ok, outputs={"m": 3})
        self.assertJob("Output path= is a datastore", **ok, outputs={"m": {"path": "azureml://x"}})
        self.assertJob("collects uri_folder outputs", **ok, outputs={"m": {"type": "uri_file"}})
        self.assertJob("outputs must be a dict", **ok, outputs=["m"])
        self.assertJob("cpus must be", **ok, cpus="two")


class CodeArchive(unittest.TestCase):
    """code=: the directory's contents at the root of a gzip tar (base64)."""

    def test_pack(self):
        import base64
        import io
        import tarfile

        from drover import _code

        d = tempfile.mkdtemp(prefix="drover-code.")
        os.makedirs(os.path.join(d, "pkg"))
        for rel, text in (("train.py", "print(1)\n"), ("pkg/data.txt", "x" * 5000)):
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
        try:
            raw = base64.b64decode(_code.pack(d), validate=True)
            self.assertEqual(raw[:2], b"\x1f\x8b")  # gzip
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tar:
                names = sorted(tar.getnames())
                self.assertEqual(names, ["pkg", "pkg/data.txt", "train.py"])
                self.assertEqual(tar.extractfile("train.py").read(), b"print(1)\n")
            with self.assertRaises(UserErrorException) as cm:
                _code.pack(d, max_bytes=100)
            self.assertIn("packs to more than 100 bytes", str(cm.exception))
            with self.assertRaises(UserErrorException) as cm:
                _code.pack(os.path.join(d, "train.py"))
            self.assertIn("is not a directory", str(cm.exception))
            with self.assertRaises(UserErrorException):
                _code.pack(7)
        finally:
            for base, dirs, files in os.walk(d, topdown=False):
                for f in files:
                    os.unlink(os.path.join(base, f))
                for x in dirs:
                    os.rmdir(os.path.join(base, x))
            os.rmdir(d)


def _parents(d):
    while True:
        yield d
        p = os.path.dirname(d)
        if p == d:
            return
        d = p


if __name__ == "__main__":
    unittest.main()
