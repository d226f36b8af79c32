"""The web chat: `python app.py --help` (the app itself is `qa.web`, also `qa serve`)."""
import sys

from qa.web import main

if __name__ == "__main__":
    sys.exit(main())
