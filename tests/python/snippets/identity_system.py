# The page's "Set up managed identity" snippet (SDK v1): a cluster with a
# system-assigned managed identity.  Only the import changed.
from drover import Workspace
from drover import ComputeTarget, AmlCompute

ws = Workspace.from_config()

# --- the page's snippet ---
# configure cluster with a system-assigned managed identity
compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2',
                                                        max_nodes=5,
                                                        identity_type="SystemAssigned",
                                                        )
cpu_cluster_name = "cpu-cluster"
cpu_cluster = ComputeTarget.create(ws, cpu_cluster_name, compute_config)
