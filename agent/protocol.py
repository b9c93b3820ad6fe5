"""The protocol of a run: ours (``socioagent``, the default) or the SocioReasoner reference's (``socioreasoner``).

SocioReasoner-3B was trained, and its paper's numbers were measured, with one exact protocol. Serving that model
behind ``--policy openai`` gives the paper's behaviour only when every non-wording aspect of the loop follows the
reference (AMAP-ML/SocioReasoner; facts in the reference notes, sections 3-5 and 9). ``--protocol socioreasoner``
switches all of them at once; each is one field of `ProtocolProfile`, so this table is the whole difference:

==================  ======================================  ===============================================
aspect              socioagent                              socioreasoner
==================  ======================================  ===============================================
sampling defaults   temperature 0, max_tokens 1024          temperature 1.0, top_p 0.8, top_k 100, 2048
prompt templates    ``localize.txt`` / ``refine.txt``       ``socioreasoner_localize.txt`` / ``..._refine.txt``
stage-2 boxes       our clean JSON in the model frame       the raw stage-1 answer text, verbatim
answer block        the last ``<answer>``                   the first ``<answer>``
items               ``[x, y, 0]`` negative; boxes clipped;  ``[x, y, 0]`` positive; boxes and points as
                    points outside their box dropped        written (no clipping, nothing dropped)
failed stage 2      the stage-1 prompts are kept            no prompts: an empty mask
refine rounds       up to `MAX_REFINE_ROUNDS`               at most 1
split reasoning     kept beside the answer text             also rebuilt as ``<think>...</think>`` + answer
stage-2 render      crisp look at the size sent             the reference's look at the size sent
SAM 2               one mask, scene image, bf16 on CUDA     best of 3 masks, image at the model frame (756),
                                                            float32
truth masks         any band > 0                            ``convert("L") > 0``
==================  ======================================  ===============================================

``--strict-parse`` is separate: under socioagent it fails every answer that needed a repair (`parse_answer` with
``strict=True``); under socioreasoner it reads answers exactly as the reference does (`parse_reference`), so a
malformed answer is a format failure where the reference would get no prompt from it. `ProtocolProfile.read`
is the one place that choice is made.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from agent.parsing import ParsedAnswer, parse_answer, parse_reference
from agent.parsing.answer import MAX_ITEMS
from agent.parsing.items import Stage
from agent.parsing.tags import AnswerBlock
from agent.policies import SamplingParams
from tools.errors import InputError
from tools.images import MaskRule
from tools.render import FeedbackLook

ProtocolName = Literal["socioagent", "socioreasoner"]
PROTOCOL_NAMES: tuple[str, ...] = get_args(ProtocolName)
DEFAULT_PROTOCOL: ProtocolName = "socioagent"
MAX_REFINE_ROUNDS = 8
"""The most refine rounds any run may ask for."""


class ProtocolProfile(BaseModel):
    """Every choice a protocol makes (see the module's table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ProtocolName
    sampling: SamplingParams = Field(description="model policies' sampling defaults; each flag overrides one value")
    template_prefix: str = Field(description="prefix of the prompt template names (prompts/<prefix>localize.txt)")
    stage2_boxes: Literal["clean_json", "answer_text"] = Field(
        description="what the refine prompt's ${boxes} holds: our JSON of the prompts so far, or the raw "
        "stage-1 answer text (the inside of its first <answer> block, verbatim)"
    )
    answer_block: AnswerBlock = Field(description="which of several <answer> blocks is read")
    as_written: bool = Field(
        description="prompts go to the segmenter as the answer wrote them: every point positive, no clipping to "
        "the image, points outside their box and zero-area boxes kept"
    )
    empty_on_failed_refine: bool = Field(
        description="an unusable stage-2 answer gives no prompts (an empty mask) instead of keeping stage 1's"
    )
    max_refine: int = Field(ge=0, le=MAX_REFINE_ROUNDS, description="the most refine rounds allowed")
    rebuild_reasoning: bool = Field(
        description="a server that splits the reasoning out (reasoning_content) has the full "
        "<think>...</think> + answer text rebuilt before parsing"
    )
    feedback_look: FeedbackLook = Field(description="how the stage-2 input is drawn (`tools.render`)")
    sam_multimask: bool = Field(description="SAM 2 keeps the best-scoring of its 3 masks per prompt")
    sam_frame: Literal["scene", "model"] = Field(description="SAM 2 segments the scene image or the model-frame one")
    sam_bf16: bool = Field(description="SAM 2 runs in bfloat16 autocast on CUDA (else float32)")
    mask_rule: MaskRule = Field(description="how an eval's truth mask images are binarised")

    def template(self, stage: Stage) -> str:
        """Return the prompt template name for a stage (``localize``, ``socioreasoner_refine``, ...)."""
        return f"{self.template_prefix}{stage}"

    def segmenter_options(self, segmenter: str) -> dict[str, object]:
        """Return the keyword options this protocol gives a segmenter backend (SAM 2 only; none for classical)."""
        if segmenter == "sam2":
            return {"multimask": self.sam_multimask, "frame": self.sam_frame, "bf16": self.sam_bf16}
        return {}

    def read(
        self,
        text: str,
        stage: Stage,
        extent: tuple[float, float] | None,
        strict: bool = False,
        max_items: int = MAX_ITEMS,
    ) -> tuple[ParsedAnswer, str]:
        """Parse an answer the protocol's way; return the parse and the name of the reading used.

        Readings: ``lenient`` (repairs tolerated and named), ``strict`` (any repair fails the answer; socioagent),
        ``reference`` (the reference's own reading, no repairs; socioreasoner + strict) and ``reference-lenient``
        (socioreasoner: repairs tolerated, items read as the reference reads them, no clipping).
        """
        if self.as_written:
            if strict:
                return parse_reference(text, stage), "reference"
            parsed = parse_answer(text, stage, None, answer_block=self.answer_block, as_written=True,
                                  max_items=max_items)  # fmt: skip
            return parsed, "reference-lenient"
        reading = "strict" if strict else "lenient"
        return parse_answer(text, stage, extent, strict=strict, answer_block=self.answer_block,
                            max_items=max_items), reading  # fmt: skip


PROFILES: dict[str, ProtocolProfile] = {
    "socioagent": ProtocolProfile(
        name="socioagent",
        sampling=SamplingParams(temperature=0.0, max_tokens=1024),
        template_prefix="",
        stage2_boxes="clean_json",
        answer_block="last",
        as_written=False,
        empty_on_failed_refine=False,
        max_refine=MAX_REFINE_ROUNDS,
        rebuild_reasoning=False,
        feedback_look="crisp",
        sam_multimask=False,
        sam_frame="scene",
        sam_bf16=True,
        mask_rule="any_band",
    ),
    "socioreasoner": ProtocolProfile(
        name="socioreasoner",
        sampling=SamplingParams(temperature=1.0, top_p=0.8, top_k=100, max_tokens=2048),
        template_prefix="socioreasoner_",
        stage2_boxes="answer_text",
        answer_block="first",
        as_written=True,
        empty_on_failed_refine=True,
        max_refine=1,
        rebuild_reasoning=True,
        feedback_look="reference",
        sam_multimask=True,
        sam_frame="model",
        sam_bf16=False,
        mask_rule="gray",
    ),
}
"""The protocols by name."""


def profile(name: str) -> ProtocolProfile:
    """Return a protocol's profile.

    Raises:
        InputError: no protocol has that name.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"unknown protocol {name!r}; choose one of: {', '.join(PROTOCOL_NAMES)}") from None
