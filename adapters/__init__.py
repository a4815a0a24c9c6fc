"""Channel adapters: convert platform events to InboundMessage and Reply to platform calls."""
