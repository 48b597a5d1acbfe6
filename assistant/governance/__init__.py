"""What the public and the auditors see: the hash-chained audit log, personal-data masking, the AI-use register."""
