"""Installs the loragrad package with its shared library: the file $LORAGRAD_LIBRARY names, or one
built from the Swift package this directory sits in (`swift build -c release --product LoRAGradC`,
which needs the Swift toolchain on PATH). No C extension is compiled."""

import os
import pathlib
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parent.parent


class BuildWithLibrary(build_py):
    """build_py, then libLoRAGradC.so next to the package's modules."""

    def run(self):
        super().run()
        library = os.environ.get("LORAGRAD_LIBRARY")
        if library:
            source = pathlib.Path(library)
        else:
            if not (ROOT / "Package.swift").is_file():
                raise SystemExit("loragrad: set LORAGRAD_LIBRARY to a built libLoRAGradC.so (no Swift package at " + str(ROOT) + ")")
            subprocess.run(["swift", "build", "-c", "release", "--product", "LoRAGradC"], cwd=ROOT, check=True)
            source = ROOT / ".build" / "release" / "libLoRAGradC.so"
        if not source.is_file():
            raise SystemExit(f"loragrad: {source} is not a file")
        target = pathlib.Path(self.build_lib) / "loragrad" / "libLoRAGradC.so"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildWithLibrary})
