"""The local reviewers follow docs/interfaces.md: unknown truth is confirmed with probability 1 - error rate,
and scripted answers name the image exactly as the input CSV wrote it, s3:// URIs included."""

from __future__ import annotations

from pathlib import Path

from bulkqa_local.reviewers import ScriptedReviewers, SimulatedReviewers


def test_a_label_without_known_truth_is_confirmed_unless_the_reviewer_errs() -> None:
    reviewers = SimulatedReviewers(error_rate=0.02, seed=7)
    worker = reviewers.worker_ids(1)[0]
    answers = [reviewers.confirms(worker, f"photos/img{n}.jpg", "Teapot") for n in range(1000)]
    assert 960 <= sum(answers) <= 995  # ~98 % confirmed, wherever the image sits
    assert reviewers.correct("photos/img1.jpg", "Teapot") is None
    assert reviewers.correct("img1.jpg", "Teapot") is None


def test_the_sample_truth_still_decides_for_known_labels() -> None:
    reviewers = SimulatedReviewers(error_rate=0.0)
    assert reviewers.correct("crab/image_0001.jpg", "Crab") is True
    assert reviewers.correct("lobster/image_0001.jpg", "Crab") is False


def test_scripted_answers_match_images_written_as_s3_uris_or_keys(tmp_path: Path) -> None:
    answers = tmp_path / "answers.csv"
    answers.write_text(
        "image,label,worker,verdict\n"
        "s3://images-bucket/cats/1.jpg,Cat,ann,reject\n"
        "./dogs/2.jpg,Dog,ann,reject\n"
        "birds/3.jpg,Bird,ann,confirm\n",
        encoding="utf-8",
    )
    reviewers = ScriptedReviewers.from_csv(answers)
    # the local Ground Truth passes the object key of the image the page shows
    assert reviewers.confirms("ann", "cats/1.jpg", "Cat") is False
    assert reviewers.confirms("ann", "dogs/2.jpg", "Dog") is False
    assert reviewers.confirms("ann", "birds/3.jpg", "Bird") is True
    assert reviewers.confirms("ann", "cats/1.jpg", "Dog") is True  # no line: the box stays checked
