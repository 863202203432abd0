"""The uplift models as one ONNX graph, checked value for value against scikit-learn.

Each offer's two classifiers are converted as the other models are (float32 `features`, plain
probabilities), their nodes and tensors renamed under a prefix of their own, and joined: column 1
of each probability output is sliced, the control's subtracted from the treated's, and the
offers' columns concatenated into `uplift` [rows, offers]."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from training.export import PROBABILITY_TOLERANCE, ParityError, convert, onnx_outputs
from training.uplift import OfferModel


def compose(fits: list[OfferModel]) -> bytes:
    """One graph for every offer's pair; the column order is the order of `fits`."""
    nodes: list[Any] = []
    initializers: list[Any] = []
    columns: list[str] = []
    opsets: dict[str, int] = {}
    one, two, axis = (numpy_helper.from_array(np.array([v], np.int64), name) for v, name in
                      ((1, "column_from"), (2, "column_to"), (1, "column_axis")))  # fmt: skip
    initializers += [one, two, axis]
    for index, fit in enumerate(fits):
        picked = []
        for arm, estimator in (("t", fit.treated), ("c", fit.control)):
            prefix = f"o{index}{arm}_"
            graph = onnx.load_from_string(convert(estimator))
            for opset in graph.opset_import:
                opsets[opset.domain] = max(opsets.get(opset.domain, 0), opset.version)
            nodes += [_renamed(node, prefix) for node in graph.graph.node]
            for tensor in graph.graph.initializer:
                tensor.name = prefix + tensor.name
                initializers.append(tensor)
            probabilities = prefix + graph.graph.output[1].name
            picked.append(f"{prefix}p1")
            nodes.append(helper.make_node("Slice", [probabilities, "column_from", "column_to", "column_axis"],
                                          [picked[-1]], name=f"{prefix}slice"))  # fmt: skip
        columns.append(f"o{index}_uplift")
        nodes.append(helper.make_node("Sub", picked, [columns[-1]], name=f"o{index}_sub"))
    nodes.append(helper.make_node("Concat", columns, ["uplift"], axis=1, name="offers"))
    graph = helper.make_graph(
        nodes, "uplift",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, fits[0].treated.n_features_in_])],
        [helper.make_tensor_value_info("uplift", TensorProto.FLOAT, [None, len(fits)])],
        initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in sorted(opsets.items())])
    model.ir_version = onnx.load_from_string(convert(fits[0].treated)).ir_version
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _renamed(node: Any, prefix: str) -> Any:
    def name(tensor: str) -> str:
        return tensor if tensor in ("", "features") else prefix + tensor

    node.input[:] = [name(t) for t in node.input]
    node.output[:] = [name(t) for t in node.output]
    node.name = prefix + node.name
    return node


def check_parity(fits: list[OfferModel], model_bytes: bytes, features: np.ndarray) -> dict[str, Any]:
    """Every offer's column against scikit-learn's difference of probabilities."""
    rows = features.astype(np.float32)
    got = onnx_outputs(model_bytes, rows)[0].astype(np.float64)
    expected = np.column_stack([fit.uplift(rows) for fit in fits])
    difference = np.abs(expected - got)
    report = {"rows": len(rows), "max_abs_diff": float(difference.max()), "sum_sklearn": float(expected.sum()),
              "sum_onnx": float(got.sum()), "tolerance": PROBABILITY_TOLERANCE}  # fmt: skip
    if report["max_abs_diff"] > PROBABILITY_TOLERANCE:
        row, column = np.unravel_index(int(np.argmax(difference)), difference.shape)
        raise ParityError(
            f"ONNX uplift differs by up to {report['max_abs_diff']:.2e} ({fits[column].offer}, row {row}: "
            f"sklearn {expected[row, column]:.6f} onnx {got[row, column]:.6f})"
        )
    return report
