# "Create an Azure Machine Learning compute cluster" (SDK v1), Create: a
# cluster with vm_size and max_nodes.  The page's snippet with only the
# import lines changed (azureml.core.compute / .compute_target -> drover).
from drover import Workspace
from drover import ComputeTarget, AmlCompute
from drover import ComputeTargetException

ws = Workspace.from_config()

# --- the page's snippet ---
# Choose a name for your CPU cluster
cpu_cluster_name = "cpucluster"

# Verify that cluster does not exist already
try:
    cpu_cluster = ComputeTarget(workspace=ws, name=cpu_cluster_name)
    print('Found existing cluster, use it.')
except ComputeTargetException:
    compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2',
                                                           max_nodes=4)
    cpu_cluster = ComputeTarget.create(ws, cpu_cluster_name, compute_config)

cpu_cluster.wait_for_completion(show_output=True)
