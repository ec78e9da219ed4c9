# Checks of the compute environment, made when the workflow is parsed, before any
# job runs. Keep this the last include: it sees every rule's resources.

check_cluster()
