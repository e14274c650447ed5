"""notificaciones: one e-mail per booking or saga event (the tutorial's notificaciones)."""
