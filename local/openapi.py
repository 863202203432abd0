"""Print an API's OpenAPI document, generated from its handler's routes (`make openapi`):

python -m local.openapi            the decisions API (functions/api)
python -m local.openapi privacy    the personal-data routes (functions/privacy)
"""

import importlib.util
import json
import sys
from typing import Any

from local.template import ROOT


def document(function: str) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"{function}_app", ROOT / "functions" / function / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if function == "api":
        return dict(json.loads(module.openapi_document()))
    return dict(json.loads(module.app.get_openapi_json_schema(title="microtarget personal-data API", version="1.0.0")))


if __name__ == "__main__":
    print(json.dumps(document(sys.argv[1] if len(sys.argv) > 1 else "api"), indent=2, sort_keys=True))
