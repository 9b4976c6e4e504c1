"""The README and the model cards speak to people: every link stays inside the repository, the
module table lists every module, a card opens with what its model is and how to use it, and
none of them carries working notes (who did what, when, in which sitting)."""

import re
from pathlib import Path

import pytest

from frameprophet import zoo

ROOT = Path(__file__).resolve().parent.parent
CARDS = sorted(p for p in (ROOT / "weights").glob("*.md") if p.name != "README.md")
WORKING_NOTES = re.compile(r"\bsessions? \d|\bissue #?\d|nice-19|helpers?'", re.IGNORECASE)


def test_every_link_of_the_readme_and_the_cards_stays_inside_the_repository():
    for doc in [ROOT / "README.md", ROOT / "weights" / "README.md", *CARDS]:
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
            if target.startswith(("http://127.0.0.1", "http://localhost")):
                continue
            assert "://" not in target, f"{doc.name} links outside the repository: {target}"
            assert (doc.parent / target).resolve().is_relative_to(ROOT), f"{doc.name}: {target}"
            assert (doc.parent / target).exists(), f"{doc.name} links to a missing {target}"


def test_the_module_table_lists_every_module():
    readme = (ROOT / "README.md").read_text()
    table = "\n".join(line for line in readme.splitlines() if line.startswith("| `frameprophet"))
    package = ROOT / "frameprophet"
    for path in package.rglob("*.py"):
        if path.name == "__init__.py":
            continue
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        inside = path.parent != package and f"`{path.name}`" in table
        assert f"`{dotted}`" in table or inside, f"the README's module table leaves out {dotted}"


@pytest.mark.parametrize("card", CARDS, ids=[p.stem for p in CARDS])
def test_a_card_opens_with_the_model_then_its_runs_without_working_notes(card):
    text = card.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    order = ["## What it saw", "## How good it is", "## Limits", "## How to use it",
             "## Training runs"]
    assert [h for h in headings if h in order] == order
    opening = text.split("\n\n")[1]                   # the model's line in the zoo, then its shape
    assert opening.startswith(zoo.MODELS[card.stem].description)
    assert "A next-frame video predictor" in opening
    assert f'load_predictor("{card.stem}")' in text
    assert f"--model {card.stem}" in text
    assert not WORKING_NOTES.search(text), WORKING_NOTES.search(text).group(0)


def test_the_readme_carries_no_working_notes():
    for doc in [ROOT / "README.md", ROOT / "weights" / "README.md"]:
        found = WORKING_NOTES.search(doc.read_text())
        assert not found, f"{doc.name}: {found and found.group(0)}"
