# The page's "Set up managed identity" snippet (SDK v1): a cluster with a
# user-assigned managed identity.  Only the import changed; the test fills
# in the id's <placeholders> as a user does.
from drover import Workspace
from drover import ComputeTarget, AmlCompute

ws = Workspace.from_config()

# --- the page's snippet ---
# configure cluster with a user-assigned managed identity
compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2',
                                                        max_nodes=5,
                                                        identity_type="UserAssigned",
                                                        identity_id=['/subscriptions/<subcription_id>/resourcegroups/<resource_group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<user_assigned_identity>'])

cpu_cluster_name = "cpu-cluster"
cpu_cluster = ComputeTarget.create(ws, cpu_cluster_name, compute_config)
