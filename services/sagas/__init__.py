"""sagas: the durable orchestrator that runs the booking saga over synchronous gRPC calls."""
