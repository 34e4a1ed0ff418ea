"""The chat UI: `python ui.py` serves it on http://127.0.0.1:7860 (QA_HOST, QA_PORT to change).

The app itself is `qa/web.py`; `qa serve` runs the same thing.
"""

import sys

from qa.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve", *sys.argv[1:]]))
