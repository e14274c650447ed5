"""ui: the browser's bridge: live Pulsar events over gRPC-Web, and the web app's static files."""
