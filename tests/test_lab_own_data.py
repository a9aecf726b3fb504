"""The train page with the learner's own data, in headless Chromium: a CSV file (any number of
classes, bad files refused in English and Korean) and points drawn with the mouse; multiclass
softmax with cross-entropy, the boundary showing every class. (Fixtures: tests/conftest.py.)"""

import numpy as np
import pytest
from lab_helpers import blobs_csv, open_train_page, train_steps, wait_for_job

from layerprop.lab import LIMITS, LabLimitError
from layerprop.lab.userdata import check_points, parse_csv


def test_a_three_class_csv_file_trains_above_90_percent(lab, chromium, tmp_path):
    path = tmp_path / "animals.csv"
    rows = blobs_csv(path)
    page = open_train_page(chromium, lab)
    page.set_input_files("#upload", str(path))
    wait_for_job(page, "s.config.dataset === 'points'")
    first = page.evaluate("window.lab.train.latest")
    assert first["classes"] == ["cat", "dog", "fox"] and first["columns"] == ["height", "weight"]
    assert first["config"]["samples"] == len(rows)
    assert "animals.csv" in page.text_content("#upload-name")
    latest = train_steps(page, 400)
    assert latest["accuracy"] > 0.9, latest["accuracy"]
    assert sorted(set(latest["boundary"]["classes"])) == [0, 1, 2]  # the boundary shows every class
    assert page.evaluate("Array.from(document.querySelectorAll('#class-legend .class')).map(c => c.textContent)") == [
        "cat",
        "dog",
        "fox",
    ]
    assert page.text_content("#train-accuracy").endswith("%")
    # the axes are the data's own: heights around 150-200 along x
    center, scale = latest["boundary"]["center"], latest["boundary"]["scale"]
    low, high = center[0] - 1.8 * scale[0], center[0] + 1.8 * scale[0]
    heights = [r[0] for r in rows]
    assert low < min(heights) and max(heights) < high


@pytest.mark.parametrize(
    ("text", "english", "korean"),
    [
        ("x1,x2,label\n1,2,a\n3,4\n", "line 3: expected 3 columns", "3번째 줄: 열이 3개"),
        ("1,2,a\n3,oops,b\n", "line 2: feature 2 must be a finite number", "2번째 줄: 특징 2은(는) 유한한 숫자"),
        ("1,2,a\n3,4,a\n", "at least 2 classes", "클래스가 2개 이상"),
    ],
)
def test_a_bad_csv_file_is_refused_in_both_languages(lab, chromium, tmp_path, text, english, korean):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    page = open_train_page(chromium, lab)
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#train-error:not([hidden])")
    assert english in page.text_content("#train-error")
    page.click("#lang")
    assert korean in page.text_content("#train-error")
    assert page.evaluate("window.lab.train.latest.config.dataset") == "moons"  # the job was not replaced


def test_a_too_large_csv_file_is_refused_before_it_is_sent(lab, chromium, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("1,2,a\n" * (LIMITS["csv_bytes"] // 6 + 10), encoding="utf-8")
    page = open_train_page(chromium, lab, locale="ko-KR")
    page.set_input_files("#upload", str(path))
    page.wait_for_selector("#train-error:not([hidden])")
    assert "big.csv" in page.text_content("#train-error") and "최대 262144바이트" in page.text_content("#train-error")
    page.click("#lang")
    assert "at most 262144 bytes" in page.text_content("#train-error")


def test_points_drawn_with_the_mouse(lab, chromium):
    page = open_train_page(chromium, lab)
    page.select_option("#dataset", "draw")
    assert "at least 2" in page.text_content("#data-hint")
    box = page.locator("#boundary").bounding_box()
    rng = np.random.default_rng(0)
    clusters = [(90, 90), (240, 110), (160, 250)]
    for k, (cx, cy) in enumerate(clusters):
        if k == 2:
            page.click("#add-class")  # a third class
        page.click(f"#class-legend [data-class='{k}']")
        for dx, dy in rng.uniform(-20, 20, (6, 2)):
            page.mouse.click(box["x"] + 48 + cx + dx, box["y"] + 10 + cy + dy)
    wait_for_job(page, "s.config.dataset === 'points' && s.config.samples === 18")
    assert page.evaluate("window.lab.train.latest.classes") == ["A", "B", "C"]
    assert page.is_hidden("#data-hint")
    latest = train_steps(page, 300)
    assert latest["accuracy"] == 1.0
    assert sorted(set(latest["boundary"]["classes"])) == [0, 1, 2]
    assert sorted(latest["points"]["t"]) == [0] * 6 + [1] * 6 + [2] * 6
    page.click("#clear-points")
    assert "at least 2" in page.text_content("#data-hint")


def test_parse_csv_reads_headers_delimiters_and_labels():
    points = parse_csv("# a comment\nwidth;height;kind\n1;2;b\n\n3;4;a\n5,5;6;b\n".replace("5,5", "5.5"), "t.csv")
    assert points["columns"] == ["width", "height"] and points["classes"] == ["b", "a"]  # order of first appearance
    assert points["x"] == [[1.0, 2.0], [3.0, 4.0], [5.5, 6.0]] and points["t"] == [0, 1, 0]
    numbered = parse_csv("0,0,10\n1,1,2\n2,2,10\n")
    assert numbered["classes"] == ["2", "10"] and numbered["t"] == [1, 0, 1]  # integer labels in numeric order
    with pytest.raises(LabLimitError, match="more than the limit") as error:
        parse_csv("1,2,a\n3,4,b\n" * (LIMITS["toy_samples"] // 2 + 1))
    assert "데이터의 점 수" in error.value.message_ko
    with pytest.raises(LabLimitError, match="classes"):
        parse_csv("".join(f"{k},{k},c{k}\n" for k in range(LIMITS["classes"] + 1)))
    with pytest.raises(LabLimitError, match="NUL"):
        parse_csv("1,2,a\x00\n")
    with pytest.raises(LabLimitError, match="no points"):
        parse_csv("x1,x2,label\n")
    with pytest.raises(LabLimitError, match="integer from 0 to 1"):
        check_points({"x": [[0, 0], [1, 1]], "t": [0, 2], "classes": ["a", "b"]})
    with pytest.raises(LabLimitError, match="finite"):
        check_points({"x": [[0, float("nan")], [1, 1]], "t": [0, 1], "classes": ["a", "b"]})
