"""The sources the simulators and clients are held to, vendored so the repository stands alone
(DESIGN principle 13):

- `brightpearl/recordings/*.json`: real Brightpearl traffic recorded by vicvans20/ruby-brightpearl
  (MIT, see `brightpearl/recordings/LICENSE.txt` and `INDEX.md`);
- `brightpearl/documented.json`: what api-docs.brightpearl.com documents for the replies the flows
  read that no recording shows (search columns, GET fields), each with its page's URL;
- `nopcommerce/webapi-contract.json`: every action and DTO property of the official nopCommerce
  Web API Backend plugin's controllers the project uses, extracted from the plugin's source
  (repository and commit inside the file);
- `brightpearl/cassettes/`, `nopcommerce/cassettes/` (when present): scrubbed replies recorded from
  a live account by `bp-nop probe --record`, in the recordings' format.

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
BRIGHTPEARL_DOCUMENTED = _ROOT / "brightpearl" / "documented.json"
NOPCOMMERCE_CONTRACT = _ROOT / "nopcommerce" / "webapi-contract.json"
BRIGHTPEARL_CASSETTES = _ROOT / "brightpearl" / "cassettes"
NOPCOMMERCE_CASSETTES = _ROOT / "nopcommerce" / "cassettes"


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


def brightpearl_documented() -> dict[str, Any]:
    """Documented Brightpearl replies: `searches` (columns) and `objects` (fields), each with `source`."""
    return _load(BRIGHTPEARL_DOCUMENTED)


def nopcommerce_action(verb: str, route: str) -> dict[str, Any]:
    """The plugin's action `verb route` (route relative to `api-backend/`, template as in the
    contract, e.g. `Product/GetProductsByIds/{ids}`); KeyError if the plugin has no such action."""
    wanted = f"api-backend/{route.strip('/')}".lower()  # ASP.NET matches routes case-insensitively
    for action in nopcommerce_contract()["actions"]:
        if action["verb"] == verb.upper() and action["route"].lower() == wanted:
            return action
    raise KeyError(f"the Web API Backend plugin has no action {verb} {route}")


def cassette_paths(*directories: Path) -> list[Path]:
    """Every `*.json` cassette in the given directories (default: the vendored recordings and the
    packaged cassette folders that exist), sorted."""
    folders = directories or (BRIGHTPEARL_RECORDINGS, BRIGHTPEARL_CASSETTES, NOPCOMMERCE_CASSETTES)
    return sorted(path for folder in folders if folder.is_dir() for path in folder.glob("*.json"))
