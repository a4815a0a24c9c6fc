"""Configuration, wiring, the web server and the CLI: the only package that imports adapters."""
