"""The model zoo: every model name the project knows, in one table.

A name gives the recipe that builds the model, the dataset it learnt (whose protocol in
`data.DATASETS` gives its frame size, channels, context and horizon) and one line for people;
its weights are `weights/NAME.keras`. The page's menus and `catalog.get`, the CLI's `models`
and the cards read this table, so a model added here with `register_model` appears in all of
them. Keras-free: the page's menus read it before any model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frameprophet import data, saving

#: The Keras examples' recipes, kept as baselines: what each is and what to expect of it, as
#: their cards and the app say it (Keras-free, so the page's model menu can read it).
EXAMPLE_RECIPES = {
    "keras3-mnist": "the Keras 3 example's recipe, kept for comparison: its predictions are "
                    "flat grey from the first predicted frame on (the same for every clip)",
    "keras2-squares": "the Keras 2 example's recipe, kept for comparison: it loses the squares "
                      "within a few frames",
}


@dataclass(frozen=True)
class ModelName:
    """A model offered by name: the recipe that builds it, the dataset it learnt (whose
    protocol gives its frame size, channels, context and horizon) and one line for people.
    Its weights are `weights/NAME.keras`; a model with `stand_in` is offered even without
    them, as an untrained model of its shape that says so (a clone without weights runs)."""

    name: str
    recipe: str
    dataset: str
    description: str
    stand_in: bool = True

    @property
    def protocol(self) -> data.Dataset:
        return data.DATASETS[self.dataset]

    @property
    def weights(self) -> Path:
        return saving.weights_file(self.name)


#: The models by name: the page's menus, the CLI's `models`, `catalog.get` and the cards read
#: this table. Files in weights/ with other names are offered too, described by their sidecar.
MODELS: dict[str, ModelName] = {}


def register_model(entry: ModelName) -> ModelName:
    """Add a model name to the table (a name already taken, or an unknown dataset, is refused):
    from then on the page offers it, `python -m frameprophet models` lists it and its card
    opens with its description."""
    if entry.name in MODELS:
        raise ValueError(f"a model named {entry.name!r} is already registered")
    data.dataset_named(entry.dataset)
    MODELS[entry.name] = entry
    return entry


register_model(ModelName(
    "mnist", "prophet", "mnist", "Predicts Moving MNIST: grey digits moving and bouncing on "
    "black, 10 frames from 10."))
register_model(ModelName(
    "squares", "prophet", "squares", "Predicts the Keras 2 example's moving squares, 8 frames "
    "from 7."))
register_model(ModelName(
    "natural", "prophet", "natural", "Predicts ordinary colour footage (a still or moving "
    "camera, things moving in front), 10 frames from 10: learnt from pictures set in motion."))
register_model(ModelName(
    "mnist-keras3", "keras3-mnist", "mnist", "The Keras 3 example's ConvLSTM on Moving MNIST, "
    "kept as a baseline.", stand_in=False))
register_model(ModelName(
    "squares-keras2", "keras2-squares", "squares", "The Keras 2 example's ConvLSTM on moving "
    "squares, kept as a baseline.", stand_in=False))


def stand_ins() -> list[str]:
    """The names offered even without weights (see `ModelName.stand_in`)."""
    return [name for name, entry in MODELS.items() if entry.stand_in]


