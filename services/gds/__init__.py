"""gds: confirms bookings with the global distribution system (the tutorial's integracion_gds)."""
