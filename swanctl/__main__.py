"""python -m swanctl"""

import sys

from .cli import main

if __name__ == "__main__":  # importing this module (a tool walking the package) runs nothing
    sys.exit(main())
