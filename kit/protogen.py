"""Regenerates the Python code of the gRPC contracts: `python -m kit.protogen`.

The generated modules are committed beside their .proto files (importable as `portal.<domain>.v1`);
`tests/standards/test_protos.py` regenerates into a temporary folder and fails when the committed code is stale.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent.parent / "protos"


def proto_files(root: Path = PROTO_ROOT) -> list[Path]:
    return sorted(root.glob("portal/**/*.proto"))


def generate(out: Path, root: Path = PROTO_ROOT) -> list[Path]:
    """Writes *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every contract under `out`; returns the files written."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    # beside this interpreter, so it works without the virtualenv on PATH
    mypy_plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    if not mypy_plugin.exists():
        mypy_plugin = Path(shutil.which("protoc-gen-mypy") or "protoc-gen-mypy")
    files = [str(p.relative_to(root)) for p in proto_files(root)]
    args = [
        "protoc",
        f"-I{root}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={mypy_plugin}",
        f"--python_out={out}",
        f"--mypy_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = []
    for folder in {(out / f).parent for f in files} | {out / "portal"}:
        parts = folder.relative_to(out).parts
        for depth in range(1, len(parts) + 1):
            init = out.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text("")
            written.append(init)
    written += [p for p in out.glob("portal/**/*_pb2*.py*")]
    return sorted(set(written))


def main() -> None:
    for path in generate(PROTO_ROOT):
        print(path.relative_to(PROTO_ROOT))


if __name__ == "__main__":
    sys.exit(main())
