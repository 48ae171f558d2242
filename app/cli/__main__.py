"""`python -m app.cli`: the same as `benzo-cds`."""

from app.cli.main import main

raise SystemExit(main())
