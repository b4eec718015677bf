"""A job's code= from Python (run by tests/integration/test_python_code.sh,
config.json in the current directory, the directory to pack as argv[1]):
the directory is packed, sent, unpacked on the node as the task's working
directory; what it writes under outputs/model comes back with
jobs.download; an archive past the API's body limit gets the scheduler's
error.
Prints "RESULT key value" lines.
"""

import io
import os
import sys

from drover import AmlCompute, ComputeTarget, JobException, MLClient, Output, Workspace, command


def result(key, value):
    print("RESULT %s %s" % (key, value))
    sys.stdout.flush()


src = sys.argv[1]
ws = Workspace.from_config()
ComputeTarget.create(ws, "code", AmlCompute.provisioning_configuration(vm_size="Standard_D2_v2", max_nodes=1))
ml = MLClient.from_config()
job = ml.jobs.create_or_update(
    command(code=src, command="python3 train.py", compute="code", display_name="with-code",
            outputs={"model": Output(type="uri_folder")})
)
result("name", job.name)
buf = io.StringIO()
try:
    done = ml.jobs.stream(job.name, out=buf)
    result("status", done.status)
finally:
    sys.stdout.write(buf.getvalue())
result("lines", "|".join(l for l in buf.getvalue().splitlines() if l.startswith("train:")))
# what the job wrote under outputs/model, as Azure ML's jobs.download
dest = ml.jobs.download(job.name, download_path=os.path.join(os.path.dirname(src), "dl"),
                        output_name="model")
result("downloaded", open(os.path.join(dest, "model", "w.txt")).read().strip())
try:
    ml.jobs.download(job.name, download_path=os.path.join(os.path.dirname(src), "dl2"),
                     output_name="nosuch")
    result("nosuch", "downloaded")
except JobException as e:
    result("nosuch", str(e))

# past the scheduler's --max-code-size (the test gives it 1M) and below
# the client's limit (7 MiB): the scheduler's own error
big = os.path.join(os.path.dirname(src), "big")
os.makedirs(big, exist_ok=True)
with open(os.path.join(big, "blob"), "wb") as f:
    f.write(os.urandom(1536 * 1024))
try:
    ml.jobs.create_or_update(command(code=big, command="true", compute="code"))
    result("big", "accepted")
except JobException as e:
    result("big", "%s %s" % (e.status, e.message))
