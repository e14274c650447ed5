"""pagos: charges bookings and refunds them when a saga compensates."""
