"""Print the decisions API's OpenAPI document (`make openapi`), generated from the handler's routes."""

import importlib.util
import json

from local.template import ROOT

if __name__ == "__main__":
    spec = importlib.util.spec_from_file_location("api_app", ROOT / "functions" / "api" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(json.dumps(json.loads(module.openapi_document()), indent=2, sort_keys=True))
