"""Errors of the API as Python exceptions, against a live scheduler: each
carries the scheduler's own message and HTTP status, and a refused request
changes nothing.  tests/integration/test_python_sdk.sh starts the
scheduler and sets DROVER_TEST_ENDPOINT, DROVER_TEST_TOKEN (admin) and
DROVER_TEST_USER_TOKEN (a user); DROVER_TEST_CLOSED_PORT is a port where
nothing listens.
"""

import os
import tempfile
import unittest

from drover import (
    AmlCompute,
    ComputeTarget,
    ComputeTargetException,
    DroverException,
    JobException,
    MLClient,
    UserErrorException,
    Workspace,
    command,
)

ENV = ("DROVER_TEST_ENDPOINT", "DROVER_TEST_TOKEN", "DROVER_TEST_USER_TOKEN")


@unittest.skipUnless(all(os.environ.get(k) for k in ENV), "no live scheduler (%s)" % ", ".join(ENV))
class LiveErrors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ep = os.environ["DROVER_TEST_ENDPOINT"]
        cls.ws = Workspace(ep, os.environ["DROVER_TEST_TOKEN"])
        cls.user = Workspace(ep, os.environ["DROVER_TEST_USER_TOKEN"])
        cls.ml = MLClient(workspace=cls.ws)
        cls.uml = MLClient(os.environ["DROVER_TEST_USER_TOKEN"], endpoint=ep)
        cfg = AmlCompute.provisioning_configuration(vm_size="Standard_D2_v2", max_nodes=1)
        try:
            cls.cluster = ComputeTarget(workspace=cls.ws, name="errs")
        except ComputeTargetException:
            cls.cluster = ComputeTarget.create(cls.ws, "errs", cfg)

    def assertApi(self, exc, status, needle, fn, *args, **kw):
        with self.assertRaises(exc) as cm:
            fn(*args, **kw)
        e = cm.exception
        self.assertIsInstance(e, DroverException)
        self.assertEqual(e.status, status, str(e))
        self.assertIn(needle, e.message)
        self.assertIn("(HTTP %d)" % status, str(e))
        return e

    def clusters(self):
        return sorted(c.name for c in ComputeTarget.list(self.ws))

    def test_whoami(self):
        self.assertEqual(self.user.whoami()["role"], "user")

    def test_compute_errors(self):
        before = self.clusters()
        self.assertApi(ComputeTargetException, 404, "unknown cluster 'nope'",
                       ComputeTarget, workspace=self.ws, name="nope")
        cfg = AmlCompute.provisioning_configuration(vm_size="Standard_D2_v2", max_nodes=1)
        self.assertApi(ComputeTargetException, 409, "already exists",
                       ComputeTarget.create, self.ws, "errs", cfg)
        bad = AmlCompute.provisioning_configuration(vm_size="Standard_Nope", max_nodes=1)
        self.assertApi(ComputeTargetException, 400, "Standard_Nope",
                       ComputeTarget.create, self.ws, "errs2", bad)
        self.assertApi(ComputeTargetException, 400, "",
                       ComputeTarget.create, self.ws, "bad name!", cfg)
        self.assertApi(ComputeTargetException, 403, "permission denied",
                       ComputeTarget.create, self.user, "errs3", cfg)
        self.assertEqual(self.clusters(), before)
        c = ComputeTarget(workspace=self.ws, name="errs")
        self.assertIsInstance(c, AmlCompute)
        self.assertApi(ComputeTargetException, 400, "identity must be",
                       c.add_identity, identity_type="UserAssigned", identity_id=["a b"])
        self.assertApi(ComputeTargetException, 400, "",
                       c.update, min_nodes=5)  # above max_nodes 1
        self.assertApi(ComputeTargetException, 403, "permission denied",
                       ComputeTarget(workspace=self.user, name="errs").update, max_nodes=2)
        c.refresh_state()
        self.assertEqual((c.scale_settings.minimum_node_count, c.scale_settings.maximum_node_count), (0, 1))
        self.assertIsNone(c.identity_type)

    def test_wait_and_delete(self):
        c = ComputeTarget(workspace=self.ws, name="errs")
        # no job asks for a node: the cluster stays at 0 and the wait ends
        with self.assertRaises(ComputeTargetException) as cm:
            c.wait_for_completion(min_node_count=1, timeout_in_minutes=0.02)
        self.assertIn("cluster errs not steady at 1 nodes after 0.02 minutes", str(cm.exception))
        self.assertIsNone(cm.exception.status)
        c.wait_for_completion()  # at min_nodes 0: at once
        cfg = AmlCompute.provisioning_configuration(vm_size="Standard_D2_v2", max_nodes=1)
        gone = ComputeTarget.create(self.ws, "gone", cfg)
        self.assertApi(ComputeTargetException, 403, "permission denied",
                       ComputeTarget(workspace=self.user, name="gone").delete)
        gone.delete()
        self.assertEqual(gone.provisioning_state, "Deleted")
        self.assertApi(ComputeTargetException, 404, "gone", ComputeTarget, self.ws, "gone")
        self.assertApi(ComputeTargetException, 404, "gone", gone.delete)

    def test_tokens(self):
        ep = os.environ["DROVER_TEST_ENDPOINT"]
        wrong = Workspace(ep, "drv_" + "x" * 43)
        self.assertApi(ComputeTargetException, 401, "", ComputeTarget.list, wrong)
        self.assertApi(JobException, 401, "", MLClient(workspace=wrong).jobs.get, "1")
        port = os.environ.get("DROVER_TEST_CLOSED_PORT")
        if port:
            closed = Workspace("http://127.0.0.1:%s" % port, "drv_x")
            with self.assertRaises(ComputeTargetException) as cm:
                ComputeTarget.list(closed)
            self.assertIsNone(cm.exception.status)
            self.assertIn("cannot reach the scheduler", str(cm.exception))

    def test_job_errors(self):
        before = len(self.ml.jobs.list())
        self.assertApi(JobException, 404, "", self.ml.jobs.get, "999999")
        with self.assertRaises(JobException) as cm:
            self.ml.jobs.get("abc")
        self.assertIn("not a drover job name", str(cm.exception))
        self.assertApi(JobException, 404, "nope",
                       self.ml.jobs.create_or_update, command(command="true", compute="nope"))
        self.assertApi(JobException, 400, "job asks for 64 cpus",
                       self.ml.jobs.create_or_update, command(command="true", compute="errs", cpus=64))
        self.assertEqual(len(self.ml.jobs.list()), before)
        # a user may not cancel another's job; a job that ended cannot be cancelled
        j = self.ml.jobs.create_or_update(command(command="sleep 300", compute="errs"))
        self.assertEqual(j.status, "Queued")
        self.assertApi(JobException, 403, "", self.uml.jobs.cancel, j.name)
        self.assertIn(self.ml.jobs.get(j.name).state, ("queued", "starting", "running"))
        self.ml.jobs.begin_cancel(j.name).result(timeout=60)
        self.assertEqual(self.ml.jobs.get(j.name).status, "Canceled")
        self.assertApi(JobException, 409, "", self.ml.jobs.cancel, j.name)

    def test_code_checks(self):
        before = len(self.ml.jobs.list())
        d = tempfile.mkdtemp(prefix="drover-code.")
        try:
            job = command(code=os.path.join(d, "missing"), command="true", compute="errs")
            with self.assertRaises(UserErrorException) as cm:
                self.ml.jobs.create_or_update(job)
            self.assertIn("does not exist", str(cm.exception))
            with open(os.path.join(d, "blob.bin"), "wb") as f:
                f.write(os.urandom(256 * 1024))  # incompressible
            small = MLClient(workspace=self.ws, max_code_bytes=64 * 1024)
            with self.assertRaises(UserErrorException) as cm:
                small.jobs.create_or_update(command(code=d, command="true", compute="errs"))
            self.assertIn("packs to more than 65536 bytes", str(cm.exception))
            with open(os.path.join(d, "blob.bin"), "wb") as f:
                f.write(os.urandom(8 << 20))
            # the default limit: what no scheduler takes (7 MiB)
            with self.assertRaises(UserErrorException) as cm:
                self.ml.jobs.create_or_update(command(code=d, command="true", compute="errs"))
            self.assertIn("packs to more than %d bytes" % (7 << 20), str(cm.exception))
            # the client's limit raised: the scheduler's own answer (the
            # API's body limit)
            big = MLClient(workspace=self.ws, max_code_bytes=16 << 20)
            self.assertApi(JobException, 413, "", big.jobs.create_or_update,
                           command(code=d, command="true", compute="errs"))
        finally:
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            os.rmdir(d)
        self.assertEqual(len(self.ml.jobs.list()), before)


if __name__ == "__main__":
    unittest.main()
