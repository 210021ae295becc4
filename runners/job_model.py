"""The job's model, loaded for its task, and how its rows become encodings.

Part of the in-sandbox program (``runners.execute``), under the same import
rule: stdlib, the numeric stack, ``tasks`` (errors, vocabularies) and
``runners.training``; never Django. :func:`load` picks the loader for the task
type (a sequence classifier, or a token tagger for ``token_classification``:
``runners.training.tokens``) and decides how rows are cut and padded;
:class:`LoadedModel` carries the result and names the module
(:meth:`LoadedModel.ops`) the job's rows are trained and predicted through.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runners.contract import TOKEN_CLASSIFICATION, JobSpec

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from runners.training import Encoding, Tracker


def is_prompted(spec: JobSpec) -> bool:
    """Whether the job is on the ``mlm`` track: rows written into the task's
    prompt, labels read at its mask (runners.training.prompting)."""
    return spec.recipe.get("method") == "mlm"


@dataclass
class LoadedModel:
    """The job's model and how its rows become encodings and batches.

    ``row_limit`` is the most tokens a row keeps (the recipe's ``max_length``, or
    the model's maximum when that is smaller); ``pad`` the padding arguments every
    forward pass takes; ``truncated_rows`` counts the rows cut, per split.
    """

    spec: JobSpec
    model: PreTrainedModel
    tokenizer: Any | None
    vocabulary: Any | None
    from_scratch: bool
    pooling: dict[str, Any]
    num_labels: int
    model_max_length: int | None
    row_limit: int
    pad: dict[str, Any]
    truncated_rows: dict[str, int] = field(default_factory=dict)
    # runners.training.methods.apply_method's record: the method (track) and what
    # it trains.
    method: dict[str, Any] = field(default_factory=lambda: {"name": "full"})

    @property
    def prompted(self) -> bool:
        """Whether rows are written into the task's prompt and read at its mask."""
        return is_prompted(self.spec)

    @property
    def token_task(self) -> bool:
        """Whether rows are tagged word by word (runners.training.tokens)."""
        return self.spec.task.type == TOKEN_CLASSIFICATION

    def ops(self) -> Any:
        """The module whose ``predict_logits``, ``forward`` and ``train`` this
        task's rows go through: the sequence classifier's or the token tagger's."""
        from runners import training

        if self.token_task:
            from runners.training import tokens

            return tokens
        return training

    def encode(
        self, rows: list[dict[str, Any]], source: str, split: str
    ) -> list[Encoding]:
        """Encode rows as the task says and count the rows cut, per split."""
        from runners import training

        if self.token_task:
            from runners.training import tokens

            field = self.spec.task.text_fields[0]
            encodings, cut = tokens.encode_words(
                self.tokenizer, rows, field, self.row_limit, source
            )
            self.truncated_rows[split] = cut
            return encodings
        if self.prompted:
            from runners.training import prompting
            from tasks.prompts import from_dict

            encodings, cut = prompting.encode_prompted(
                self.tokenizer,
                rows,
                from_dict(self.spec.task.prompt),
                self.row_limit,
                source,
            )
            self.truncated_rows[split] = cut
            return encodings
        encodings, cut = training.encode_rows(
            rows,
            self.spec.task.text_fields,
            self.row_limit,
            source,
            tokenizer=self.tokenizer,
            vocabulary=self.vocabulary,
            two_tower=self.spec.task.two_tower,
            keep_second=self.spec.task.long_context,
        )
        self.truncated_rows[split] = cut
        return encodings


def load(spec: JobSpec, tracker: Tracker) -> LoadedModel:
    """Load the submission for the spec's task, on the tracker's device, and
    decide how its rows are cut and padded (saying so on stderr)."""
    from runners import training
    from runners.training.methods import apply_method

    task = spec.task
    regression = task.type == "regression"
    num_labels = 1 if regression else int(task.num_labels)
    max_length = int(spec.recipe["max_length"])
    vocabulary = None
    if task.vocabulary:
        from tasks.vocab import get_vocabulary

        vocabulary = get_vocabulary(task.vocabulary)
    prompted: dict[str, Any] = {}
    if is_prompted(spec):
        from runners.training.prompting import load_mlm_classifier
        from tasks.prompts import from_dict

        tokenizer, model, from_scratch, pooling, prompted = load_mlm_classifier(
            Path(spec.model_dir), prompt=from_dict(task.prompt), num_labels=num_labels
        )
    else:
        if task.type == TOKEN_CLASSIFICATION:
            from runners.training.tokens import load_token_model as load_model
        else:
            load_model = training.load_model
        tokenizer, model, from_scratch, pooling = load_model(
            Path(spec.model_dir),
            task_type=task.type,
            num_labels=num_labels,
            vocabulary=vocabulary,
            # A task vocabulary's rows are [CLS] plus up to max_length symbols.
            positions=max_length + 1 if vocabulary is not None else None,
            two_tower=task.two_tower,
        )
    if vocabulary is not None:
        print(
            f"glew: the task supplies the {vocabulary.name!r} vocabulary; "
            "training from scratch from config.json",
            file=sys.stderr,
        )
    elif from_scratch:
        print("glew: no weights in the model; training from scratch", file=sys.stderr)
    # The recipe's method (a track) decides which parameters train, before the
    # model moves and the optimizer sees it (runners.training.methods).
    method = apply_method(model, spec.recipe) | prompted
    model.to(tracker.device)
    model_max_length = training.model_max_length(model, tokenizer)
    row_limit = max_length
    if vocabulary is None and model_max_length and model_max_length < max_length:
        # A long input is cut at the model's maximum, and the cut rows counted,
        # rather than crashing the position embeddings.
        row_limit = model_max_length
        print(
            f"glew: rows are cut at the model's maximum of {model_max_length} "
            f"tokens (the recipe allows {max_length})",
            file=sys.stderr,
        )
    if vocabulary is not None:
        pad = {"pad_id": vocabulary.pad_id, "padding_side": "right"}
    else:
        # Two towers read their first token, so they are padded on the right.
        side = "right" if task.two_tower else tokenizer.padding_side
        pad = {"pad_id": tokenizer.pad_token_id, "padding_side": side}
    return LoadedModel(
        spec=spec,
        model=model,
        tokenizer=tokenizer,
        vocabulary=vocabulary,
        from_scratch=from_scratch,
        pooling=pooling.record(),
        num_labels=num_labels,
        model_max_length=model_max_length,
        row_limit=row_limit,
        pad=pad,
        method=method,
    )
