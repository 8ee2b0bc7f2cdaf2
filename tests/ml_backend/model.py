"""The smallest useful ML backend model: for every task, each Choices tag gets its first choice.

Runs in the ML backend's own venv (.venvs/ml-backend), never imported by the project code.
"""

from __future__ import annotations

from typing import Any

from label_studio_ml.model import LabelStudioMLBase

SCORE = 0.42  # a fixed, recognizable score: tests find this backend's predictions by it


class FirstChoiceModel(LabelStudioMLBase):
    def predict(self, tasks: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
        results = []
        for name, tag in self.parsed_label_config.items():
            if tag.get("type", "").lower() == "choices" and tag.get("labels"):
                results.append({"from_name": name, "to_name": tag["to_name"][0], "type": "choices",
                                "value": {"choices": [tag["labels"][0]]}})
        return [{"result": results, "score": SCORE, "model_version": "first-choice"} for _ in tasks]
