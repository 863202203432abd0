"""Print the event v1 JSON Schema generated from the models (`make schema`)."""

import json

from microtarget.events import json_schema

if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
