"""`python -m vicid` runs the daemon, as the `vicid` console script does."""

from vicid.daemon.main import main

if __name__ == "__main__":  # importing this module (a tool walking the package) starts nothing
    raise SystemExit(main())
