"""reservas: flight bookings (the tutorial's vuelos module)."""
