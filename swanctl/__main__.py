"""python -m swanctl"""

import sys

from .cli import main

sys.exit(main())
