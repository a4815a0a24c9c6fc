"""OmniDesk core: message types, router, knowledge base, matcher, config and CLI."""
