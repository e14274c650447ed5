"""vuelos: the tutorial's sidecar API (vuelos.Vuelos) as a facade over the booking saga."""

# How long the facade (facade.py) waits for each of our services; the mesh's :50051 routes
# (services.mesh.listeners) end a call only after the facade's longest sum of them.
ESPERA_S = 60.0  # ReservarVuelo with esperar: the tutorial's clients expect an answer, not a saga
LECTURA_S = 10.0  # ObtenerSaga, ObtenerReserva
