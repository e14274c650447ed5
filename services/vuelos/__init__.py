"""vuelos: the tutorial's sidecar API (vuelos.Vuelos) as a facade over the booking saga."""
