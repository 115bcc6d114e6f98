import sys

from genlmk.cli.main import main

sys.exit(main())
