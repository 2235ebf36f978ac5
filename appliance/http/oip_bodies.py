"""The Open Inference Protocol v2's JSON bodies as pydantic models: what the handlers read and answer.

Names and fields follow the protocol's REST specification (kserve/open-inference-protocol,
`inference_rest.md`) and Triton's binary tensor data extension (`binary_data_size`, `binary_data`,
`binary_data_output` parameters). A request may carry fields the protocol does not define (Triton's
own examples send `model_name` in the body): they are ignored, not refused, so every client of the
protocol is understood. Every field the protocol defines is checked strictly (a shape of `["2"]` or
`[true]` is refused, naming `inputs[0].shape[0]`).
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from appliance.errors import InvalidRequest

Parameter = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Parameters = dict[StrictStr, Parameter]
Dimension = Annotated[StrictInt, Field(ge=0)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class RequestInput(_Request):
    name: StrictStr = Field(min_length=1)
    shape: list[Dimension]
    datatype: StrictStr
    parameters: Parameters | None = None
    data: list[Any] | None = Field(None, description="The values, flat or nested as `shape`; absent when "
                                   "`parameters.binary_data_size` says they follow the JSON as binary data.")


class RequestOutput(_Request):
    name: StrictStr
    parameters: Parameters | None = None


class InferenceRequest(_Request):
    id: StrictStr | None = None
    parameters: Parameters | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(_Answer):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: list[Any] | None = None


class InferenceResponse(_Answer):
    model_name: str
    model_version: str
    id: str
    parameters: Parameters | None = None
    outputs: list[ResponseOutput]


class MetadataTensor(_Answer):
    name: str
    datatype: str
    shape: list[int]
    parameters: Parameters | None = None


class ModelMetadata(_Answer):
    name: str
    versions: list[str] = Field(description="The versions that may be asked for by path: those answering traffic.")
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]
    parameters: Parameters | None = None


class ServerMetadata(_Answer):
    name: str
    version: str
    extensions: list[str]


class ServerLive(_Answer):
    live: bool


class ServerReady(_Answer):
    ready: bool


class ModelReady(_Answer):
    name: str
    ready: bool
    version: str | None = None


class FieldProblem(_Answer):
    field: str
    problem: str
    kind: str | None = None


class ErrorBody(_Answer):
    """The protocol's error: `error` is the message (what tritonclient's and KServe's exceptions show);
    `errors` names each bad field, as every Vigil 4xx does."""

    error: str
    errors: list[FieldProblem] | None = None


def inference_request(header: Any) -> InferenceRequest:
    """The request's JSON header as an InferenceRequest, or InvalidRequest naming each bad field."""
    try:
        return InferenceRequest.model_validate(header)
    except ValidationError as e:
        problems = [{"field": _location(item["loc"]), "problem": item["msg"], "kind": "invalid_body"}
                    for item in e.errors(include_url=False)[:20]]
        raise InvalidRequest(f"{problems[0]['field']}: {problems[0]['problem']}", problems) from None


def _location(loc: tuple[Any, ...]) -> str:
    """('inputs', 0, 'shape', 1) -> 'inputs[0].shape[1]'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"
