"""The FAQ knowledge base shipped with OmniDesk: one YAML file per category."""
