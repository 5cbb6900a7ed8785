"""The gRPC contracts: lint-clean by buf, and the committed generated code is what protoc makes today."""

from __future__ import annotations

import filecmp
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kit import protogen


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    written = protogen.generate(tmp_path)
    assert written, "nothing generated"
    root = protogen.PROTO_ROOT
    stale = [
        str(p.relative_to(tmp_path))
        for p in written
        if not (root / p.relative_to(tmp_path)).exists()
        or not filecmp.cmp(p, root / p.relative_to(tmp_path), shallow=False)
    ]
    committed = {p.relative_to(root) for p in root.glob("portal/**/*_pb2*.py*")}
    fresh = {p.relative_to(tmp_path) for p in written}
    assert not stale, f"stale generated code, run `python -m kit.protogen`: {stale}"
    assert committed <= fresh, f"generated files without a contract: {sorted(map(str, committed - fresh))}"


def test_contracts_pass_buf_lint() -> None:
    buf = os.environ.get("PORTAL_BUF") or shutil.which("buf")
    if not buf:
        if os.environ.get("CI"):
            pytest.fail("buf is not installed; ./portal test installs it")
        pytest.skip("buf is not installed (./portal test installs it)")
    result = subprocess.run([buf, "lint"], cwd=protogen.PROTO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
