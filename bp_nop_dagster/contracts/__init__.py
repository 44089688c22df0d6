"""The sources the simulators and clients are held to, vendored so the repository stands alone
(DESIGN principle 13):

- `brightpearl/recordings/*.json`: real Brightpearl traffic recorded by vicvans20/ruby-brightpearl
  (MIT, see `brightpearl/recordings/LICENSE.txt` and `INDEX.md`);
- `nopcommerce/webapi-contract.json`: every action and DTO property of the official nopCommerce
  Web API Backend plugin's controllers the project uses, extracted from the plugin's source
  (repository and commit inside the file).

Pure data access, no HTTP: `bp-nop probe` and the contract tests read them through here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

_ROOT = Path(str(resources.files(__name__)))
BRIGHTPEARL_RECORDINGS = _ROOT / "brightpearl" / "recordings"
NOPCOMMERCE_CONTRACT = _ROOT / "nopcommerce" / "webapi-contract.json"


def recording_names() -> list[str]:
    """File names of every vendored Brightpearl recording, sorted."""
    return sorted(p.name for p in BRIGHTPEARL_RECORDINGS.glob("*.json"))


@lru_cache(maxsize=None)
def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def recording(name: str) -> Any:
    """One recording (a list of interactions, or one interaction) as stored."""
    path = BRIGHTPEARL_RECORDINGS / name
    if not path.is_file():
        raise FileNotFoundError(f"no Brightpearl recording named {name!r}")
    return _load(path)


def nopcommerce_contract() -> dict[str, Any]:
    """The nopCommerce Web API Backend contract: `source`, `notes`, `actions`, `dtos`."""
    return _load(NOPCOMMERCE_CONTRACT)
