"""The knowledge base and everything that matches a question to it."""
