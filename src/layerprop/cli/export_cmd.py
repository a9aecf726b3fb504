"""``layerprop export MODEL -o model.onnx``: write a model file as ONNX (inference form), for ONNX Runtime
or Netron. Needs the [onnx] extra."""

from __future__ import annotations

from .common import check_output_file, load_model_file


def add_parser(subparsers):
    p = subparsers.add_parser(
        "export", help="export a model file to ONNX (for ONNX Runtime, Netron)", description=__doc__
    )
    p.add_argument(
        "model", help="a model.npz written by 'layerprop train' or 'layerprop import-book' (or its run folder)"
    )
    p.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    p.set_defaults(func=run)


def run(args) -> int:
    check_output_file("-o", args.output)
    from ..interop.onnx_export import export_onnx

    network = load_model_file(args.model).model
    written = export_onnx(network, args.output)
    print(
        f"{args.model} → {written} ({type(network).__name__}, ONNX opset {_opset()}); open it in Netron or ONNX Runtime"
    )
    return 0


def _opset() -> int:
    from ..interop.onnx_export import OPSET

    return OPSET
