"""The Debian tools and data the VCF tests compare against (scripts/test installs them when
root). A missing one fails its test with the apt-get line to run: never a skip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

PYVCF_EXAMPLES = Path("/usr/share/doc/python3-vcf/test")
"""Debian's python-pyvcf-examples: real VCFs (1kg.vcf.gz: 629 samples, 381 sites)."""


def need_tool(tool: str, package: str) -> str:
    """The path of `tool`, or the test fails naming the package to install."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} not found: sudo apt-get install {package}")
    return path


def example_vcfs() -> list[Path]:
    """Every VCF of python-pyvcf-examples (an empty list when it is not installed)."""
    return sorted([*PYVCF_EXAMPLES.glob("*.vcf"), *PYVCF_EXAMPLES.glob("*.vcf.gz")])


def need_examples() -> None:
    if not (PYVCF_EXAMPLES / "1kg.vcf.gz").is_file():
        pytest.fail("python-pyvcf-examples not found: sudo apt-get install python-pyvcf-examples")
