"""What the AWS and Kubernetes code share, depending on neither: the one place outside API errors become
ours (:mod:`~zerospof.cloud.boundary`), the dry-run client proxy and recorder (:mod:`~zerospof.cloud.dry_run`)
and extension activities run inside those guarantees (:mod:`~zerospof.cloud.extensions`).

Imports go one way: ``zerospof.cloud`` <- ``zerospof.k8s`` <- ``zerospof.aws``.
"""
