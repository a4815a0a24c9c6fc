"""Secret detection and redaction of logs."""
