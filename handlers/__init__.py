"""The router's steps: secret guard, commands, escalation, FAQ answer, fallback."""
