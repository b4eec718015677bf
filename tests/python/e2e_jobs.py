"""Jobs from Python on real nodes (run by tests/integration/test_python_jobs.sh
with config.json in the current directory): a cluster made and waited for
at one node, a job streamed to its end, a failing one raising, a PyTorch
distribution across two nodes, a TensorFlow one (TF_CONFIG per worker), a
cancel.  Prints "RESULT key value" lines
that the shell test checks against the CLI.
"""

import io
import re
import sys

from drover import (
    AmlCompute,
    ComputeTarget,
    JobException,
    MLClient,
    TensorFlowDistribution,
    Workspace,
    command,
)


def result(key, value):
    print("RESULT %s %s" % (key, value))
    sys.stdout.flush()


ws = Workspace.from_config()
cfg = AmlCompute.provisioning_configuration(
    vm_size="Standard_D2_v2", min_nodes=1, max_nodes=2, idle_seconds_before_scaledown=600
)
cluster = ComputeTarget.create(ws, "py", cfg)
cluster.wait_for_completion(show_output=True, timeout_in_minutes=3)
st = cluster.get_status()
result("nodes", st.current_node_count)
result("idle", st.node_state_counts.idle_node_count)
result("allocation", st.allocation_state)

ml = MLClient.from_config()
# a job streamed to its end: its log as it grows, its final state
job = command(
    command='echo "hello $GREETING"; for i in 1 2 3; do echo line $i; sleep 0.3; done',
    environment_variables={"GREETING": "from python"},
    compute="py",
    display_name="hello-py",
)
returned = ml.jobs.create_or_update(job)
result("hello_name", returned.name)
result("hello_submitted", returned.status)
buf = io.StringIO()
final = ml.jobs.stream(returned.name, out=buf)
sys.stdout.write(buf.getvalue())
result("hello_status", final.status)
result("hello_exit", final.exit_code)
result("hello_streamed", "|".join(l for l in buf.getvalue().splitlines() if l.startswith(("hello", "line"))))
assert ml.jobs.get(returned.name).display_name == "hello-py"

# a failing job: stream raises with the reason
bad = ml.jobs.create_or_update(command(command="echo going down; exit 7", compute="py", max_retries=0))
result("bad_name", bad.name)
try:
    ml.jobs.stream(bad.name)
    result("bad_raised", "no")
except JobException as e:
    result("bad_raised", "yes")
    result("bad_message", e.message)
    result("bad_status", e.job.status)

# a time limit in ms (issue 17): the agent stops it at 300 ms
lim = ml.jobs.create_or_update(command(command="sleep 5", compute="py", max_retries=0, time_limit_ms=300))
result("lim_name", lim.name)
try:
    ml.jobs.stream(lim.name)
    result("lim_raised", "no")
except JobException as e:
    result("lim_raised", "yes")
    result("lim_message", e.message)
    result("lim_status", e.job.status)

# PyTorch distribution over two nodes, two processes each
pt = ml.jobs.create_or_update(
    command(
        command='echo "rank $RANK/$WORLD_SIZE node $NODE_RANK"',
        compute="py",
        instance_count=2,
        distribution={"type": "pytorch", "process_count_per_instance": 2},
    )
)
result("pt_name", pt.name)
buf = io.StringIO()
done = ml.jobs.stream(pt.name, out=buf)
result("pt_status", done.status)
result("pt_ranks", " ".join(sorted(re.findall(r"rank (\d+/\d+) node", buf.getvalue()))))

# TensorFlow distribution: 3 workers over the two nodes, each with TF_CONFIG
tf = ml.jobs.create_or_update(
    command(
        command="echo \"tf $TF_CONFIG\"",
        compute="py",
        instance_count=2,
        distribution=TensorFlowDistribution(worker_count=3),
    )
)
buf = io.StringIO()
done = ml.jobs.stream(tf.name, out=buf)
result("tf_status", done.status)
tasks = re.findall(r'"task": \{"type": "(\w+)", "index": (\d+)', buf.getvalue())
result("tf_tasks", " ".join(sorted("%s:%s" % t for t in tasks)))
result("tf_dist", "%(type)s %(worker_count)s %(parameter_server_count)s" % ml.jobs.get(tf.name).distribution)

# cancel
long = ml.jobs.create_or_update(command(command="sleep 300", compute="py"))
result("cancel_name", long.name)
ml.jobs.begin_cancel(long.name).result(timeout=60)
result("cancel_status", ml.jobs.get(long.name).status)

# the cluster through MLClient.compute, then scale settings changed
result("compute_list", ",".join(c.name for c in ml.compute.list()))
cluster.update(min_nodes=0, idle_seconds_before_scaledown=30)
result("updated", "%d %d" % (cluster.scale_settings.minimum_node_count,
                             cluster.scale_settings.idle_seconds_before_scaledown))
