"""Where the tests find the loragrad command-line tool: $LORAGRAD_CLI, else the repository's
.build/debug or .build/release build, else None (the tests that need it skip)."""

import os
import pathlib


def loragrad_cli():
    """The path of the built loragrad executable, or None."""
    path = os.environ.get("LORAGRAD_CLI")
    if path:
        return pathlib.Path(path)
    root = pathlib.Path(__file__).resolve().parents[2]
    for build in ("debug", "release"):
        if (root / ".build" / build / "loragrad").is_file():
            return root / ".build" / build / "loragrad"
    return None
