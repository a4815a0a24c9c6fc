"""Tickets: the human desk's domain and its reports."""
