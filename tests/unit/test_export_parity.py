"""The parity gate accepts a faithful ONNX export and refuses a corrupted one, naming rows."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from tests.helpers.models import fitted_classifier, fitted_segmenter
from training.export import ParityError, check_parity, convert


def corrupt(model_bytes: bytes, factor: float = 1.05) -> bytes:
    """Scale the largest float weights (initializer or node attribute): a wrong graph that still runs."""
    model = onnx.load_from_string(model_bytes)
    floats = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT]
    if floats:
        target = max(floats, key=lambda i: numpy_helper.to_array(i).size)
        target.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(target) * np.float32(factor), target.name))
    else:
        attribute = max((a for n in model.graph.node for a in n.attribute), key=lambda a: len(a.floats))
        attribute.floats[:] = [value * factor for value in attribute.floats]
    return model.SerializeToString()


@pytest.mark.parametrize("family", ["logistic", "gradient_boosting"])
def test_good_export_passes_with_value_level_agreement(family: str) -> None:
    model, x = fitted_classifier(family)
    report = check_parity(model, convert(model), x, "classifier")
    assert report["max_abs_diff"] <= 1e-5 and report["rows"] == len(x)
    assert abs(report["sum_sklearn"] - report["sum_onnx"]) < 1e-3


def test_corrupted_classifier_export_is_refused_naming_rows() -> None:
    model, x = fitted_classifier("logistic")
    with pytest.raises(ParityError, match=r"differ by up to .*row \d+: sklearn"):
        check_parity(model, corrupt(convert(model)), x, "classifier")


def test_segmenter_labels_must_match_exactly() -> None:
    model, x = fitted_segmenter()
    assert check_parity(model, convert(model), x, "segmenter")["labels_identical"]
    with pytest.raises(ParityError, match="segment labels differ"):
        check_parity(model, corrupt(convert(model), factor=1.8), x, "segmenter")
