"""``python -m services.mesh`` (make run): the whole system locally; Ctrl-C stops it.

Environment: AEROALPES_VAR_DIR (./var), AEROALPES_DB_URL (unset: SQLite), AEROALPES_EDGE_PORT
(8080), AEROALPES_INTERNAL_PORT (8081), AEROALPES_ENVOY_ADMIN_PORT (9901), AEROALPES_PULSAR_PORT
(6650), AEROALPES_<SERVICE>_PORT (50061…50067); edge limits per client: AEROALPES_EDGE_RPS (50)
and AEROALPES_EDGE_BURST (100) per token subject, AEROALPES_EDGE_ANON_RPS (20) and
AEROALPES_EDGE_ANON_BURST (40) per anonymous address, AEROALPES_EDGE_MAX_REQUEST_BYTES (1 MiB).
"""

import sys

from services.mesh.runner import main

if __name__ == "__main__":
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]):
        print(__doc__)
        sys.exit(0)
    sys.exit(main())
