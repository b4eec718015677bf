# The page's "Add managed identity to an existing compute cluster named
# cpu_cluster" snippet (SDK v1), system-assigned.  The lines before it (marked)
# look the existing cluster up, as the page's first snippet does.
from drover import Workspace
from drover import ComputeTarget

ws = Workspace.from_config()
# not the page's: the existing cluster the page calls cpu_cluster
cpu_cluster = ComputeTarget(workspace=ws, name="cpu-cluster")

# --- the page's snippet ---
# add a system-assigned managed identity
cpu_cluster.add_identity(identity_type="SystemAssigned")
