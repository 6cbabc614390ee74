"""One module per CLI command group; api.cli.main registers them."""
