"""Entry points: the `assistant` command line (later the HTTP API); they talk to the `Assistant` facade only."""
