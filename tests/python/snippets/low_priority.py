# The page's "Lower your compute cluster cost" snippet (SDK v1): a
# low-priority configuration.  Only the import changed; the page's snippet
# builds the configuration only, so the last lines (marked) create the
# cluster as the page's first snippet does.
from drover import Workspace
from drover import ComputeTarget, AmlCompute

ws = Workspace.from_config()

# --- the page's snippet ---
compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2',
                                                            vm_priority='lowpriority',
                                                            max_nodes=4)
# --- end of the page's snippet; create it (as the first snippet does) ---
cpu_cluster = ComputeTarget.create(ws, "lowpriocluster", compute_config)
cpu_cluster.wait_for_completion(show_output=True)
