"""The `benzo-cds` command and its subcommands."""
