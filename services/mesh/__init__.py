"""mesh: the Envoy config template, the local runner (make run) and the demo (make demo)."""
