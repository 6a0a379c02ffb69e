"""`python -m vicid` runs the daemon, as the `vicid` console script does."""

from vicid.daemon.main import main

raise SystemExit(main())
