"""The shared kernel: domain rules several contexts need (itineraries, passengers, fares)."""
