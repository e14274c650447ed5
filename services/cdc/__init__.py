"""cdc: the relay that publishes outbox events and watched table changes to Pulsar."""
