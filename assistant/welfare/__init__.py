"""The welfare finder: services read from the indexed guides and matched against a citizen's profile."""
