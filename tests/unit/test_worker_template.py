"""The reviewer's page (worker_task.liquid.html) rendered like Ground Truth renders it.

Rendered with bulkqa_local.liquid_gt (autoescape on, GT filters, StrictDefaultUndefined) and parsed
with html.parser: one tile per image, each an <img> then a pre-checked crowd-checkbox whose
name/value map back to the batch's ids through bulkqa.consolidation.verdicts_from_answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources

import liquid
import pytest

from bulkqa import consolidation, worker_page
from bulkqa.errors import MalformedAnswer
from bulkqa_local import liquid_gt
from tests.support.batches import Batch, build_batch, image_names, make_batch

CROWD_JS = "https://assets.crowd.aws/crowd-html-elements.js"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def template_source() -> str:
    """The template as start_labeling_job uploads it: the Liquid file with grid.css and grid.js inlined."""
    return worker_page.worker_template().decode("utf-8")


def raw_file(name: str) -> str:
    return (resources.files("bulkqa") / "templates" / name).read_text("utf-8")


def fake_presign(uri: str) -> str:
    key = uri.split("/", 3)[3]
    sig = hashlib.sha256(uri.encode()).hexdigest()[:24]
    return (
        f"https://bkt.s3.amazonaws.com/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature={sig}"
    )


# --- a tiny DOM from html.parser ---------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    def iter(self) -> list[Node]:
        out: list[Node] = []
        for child in self.children:
            out.append(child)
            out.extend(child.iter())
        return out

    def find_all(self, tag: str) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag]

    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def all_text(self) -> str:
        return "".join(self.text) + "".join(c.all_text() for c in self.children)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return
        raise AssertionError(f"stray </{tag}>")

    def handle_data(self, data: str) -> None:
        self.stack[-1].text.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert [n.tag for n in builder.stack] == ["#root"], f"unclosed tags: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


def render(batch: Batch) -> str:
    return liquid_gt.render_worker_template(template_source(), batch.task_input, fake_presign)


def tiles_of(dom: Node) -> list[Node]:
    return [n for n in dom.iter() if "tile" in n.classes()]


def answer_from_page(dom: Node, state: bool = True) -> dict[str, dict[str, bool]]:
    answer: dict[str, dict[str, bool]] = {}
    for box in dom.find_all("crowd-checkbox"):
        answer.setdefault(str(box.attrs["name"]), {})[str(box.attrs.get("value") or "on")] = state
    return answer


# --- structure -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 25, 100])
def test_one_tile_per_image_each_an_img_then_a_checked_box(count: int) -> None:
    batch = make_batch(count)
    html = render(batch)
    dom = parse(html)

    forms = dom.find_all("crowd-form")
    assert len(forms) == 1
    assert [s.attrs.get("src") for s in dom.find_all("script") if s.attrs.get("src")] == [CROWD_JS]

    tiles = tiles_of(forms[0])
    assert len(tiles) == count
    for tile, image in zip(tiles, batch.task_input["images"], strict=True):
        inner = [n for n in tile.iter() if n.tag in ("img", "crowd-checkbox")]
        assert [n.tag for n in inner] == ["img", "crowd-checkbox"]
        img, box = inner
        assert img.attrs["src"] == fake_presign(image["uri"])  # the presigned URL, '&' unescaped back
        assert box.attrs["name"] == f"image-{image['id']}"
        assert box.attrs["value"] == "correct"
        assert "checked" in box.attrs
        assert "disabled" not in box.attrs

    # Nothing else on the page is an <img> or a crowd-checkbox (the emulator pairs them by position).
    assert len(dom.find_all("img")) == count
    assert len(dom.find_all("crowd-checkbox")) == count


@pytest.mark.parametrize("count", [1, 25, 100])
def test_nearest_preceding_img_pairs_each_box_with_its_own_image(count: int) -> None:
    batch = make_batch(count)
    dom = parse(render(batch))
    src_of = {f"image-{i['id']}": fake_presign(i["uri"]) for i in batch.task_input["images"]}
    last_img: str | None = None
    pairs = 0
    for node in dom.iter():
        if node.tag == "img":
            last_img = node.attrs["src"]
        elif node.tag == "crowd-checkbox":
            assert last_img == src_of[str(node.attrs["name"])]
            last_img = None  # each img serves exactly one box
            pairs += 1
    assert pairs == count


@pytest.mark.parametrize("count", [1, 25, 100])
def test_all_true_answer_built_from_the_page_is_accepted(count: int) -> None:
    batch = make_batch(count)
    answer = answer_from_page(parse(render(batch)))
    verdicts = consolidation.verdicts_from_answer(answer, batch.ref)
    assert verdicts == dict.fromkeys(batch.ids, True)


def test_answer_missing_an_image_is_rejected() -> None:
    batch = make_batch(25)
    answer = answer_from_page(parse(render(batch)))
    answer.pop(next(iter(answer)))
    with pytest.raises(MalformedAnswer):
        consolidation.verdicts_from_answer(answer, batch.ref)


def test_heading_names_the_label_and_counter_starts_at_zero() -> None:
    batch = make_batch(25, "Sea Turtle")
    dom = parse(render(batch))
    labels = [n for n in dom.iter() if "data-qa-label" in n.attrs]
    assert len(labels) == 1
    assert labels[0].all_text() == "Sea Turtle"
    (h1,) = dom.find_all("h1")
    assert " ".join(h1.all_text().split()) == "Confirm that each image is correctly labelled as Sea Turtle"
    assert labels[0] in h1.iter()
    counters = [n for n in dom.iter() if "data-qa-count" in n.attrs]
    assert [" ".join(c.all_text().split()) for c in counters] == ["0 of 25 marked wrong"]


def test_submit_button_inside_the_form() -> None:
    dom = parse(render(make_batch(3)))
    (form,) = dom.find_all("crowd-form")
    buttons = [b for b in form.find_all("crowd-button") if b.attrs.get("form-action") == "submit"]
    assert len(buttons) == 1


# --- escaping: the label is free user text -------------------------------------------------------

HOSTILE_LABELS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "He said \"it's a 'turtle'\" & left",
    "{{ 7*7 }}",
    "{% if true %}x{% endif %}",
    "{{ task.input.batch_id }}",
    "Tortue de mer 🐢 – ü </strong></h1><crowd-checkbox name=image-0000000000000000 checked>",
]


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_label_is_rendered_as_text_never_markup_or_liquid(label: str) -> None:
    batch = make_batch(5, label)
    html = render(batch)
    dom = parse(html)

    (shown,) = [n for n in dom.iter() if "data-qa-label" in n.attrs]
    assert shown.all_text() == label  # exactly the text, after HTML unescaping
    assert shown.children == []  # no element injected inside the label

    # The label's markup characters never reach the page raw.
    if any(c in label for c in "<>\"'&"):
        assert label not in html
    # Structure unchanged: no extra script, img, checkbox, heading.
    assert [s.attrs.get("src") for s in dom.find_all("script")] == [CROWD_JS, None]
    assert len(dom.find_all("img")) == 5
    assert len(dom.find_all("crowd-checkbox")) == 5
    assert len(dom.find_all("h1")) == 1
    assert not any(k.startswith("on") for n in dom.iter() for k in n.attrs)

    # Liquid inside the data is not evaluated.
    assert "49" not in shown.all_text()
    assert batch.ref.batch_id not in shown.all_text()


def test_liquid_in_data_is_printed_literally() -> None:
    html = render(make_batch(2, "{{ 7*7 }} {% if true %}x{% endif %}"))
    assert "{{ 7*7 }} {% if true %}x{% endif %}" in html


def test_confidence_is_not_shown() -> None:
    names = image_names(4)
    batch = build_batch(names, confidences=[97.1234, 83.5678, 91.0102, 88.8842])
    html = render(batch)
    for conf in ("97.1234", "83.5678", "91.0102", "88.8842", "97.12", "83.57"):
        assert conf not in html
    assert "confidence" not in html.lower()


def test_template_uses_no_external_assets_and_no_raw_output() -> None:
    source = template_source()
    body = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", source, flags=re.S)
    assert "skip_autoescape" not in body
    assert "<link" not in body
    assert "@import" not in body
    assert "url(" not in body
    assert re.findall(r'\bsrc="([^"{]+)"', body) == [CROWD_JS]
    # Every output of task data goes through a filter that escapes or presigns.
    for expr in re.findall(r"{{(.*?)}}", body):
        if "task.input" in expr or "image." in expr:
            assert "| escape" in expr or "| grant_read_access" in expr or expr.strip().endswith(".size"), expr


# --- attribution: verdicts follow the ids in the keys, never the key order ------------------------


def test_verdicts_follow_ids_when_keys_arrive_sorted() -> None:
    batch = make_batch(25)
    wrong = {batch.ids[1], batch.ids[7], batch.ids[19]}
    names = sorted(f"image-{i}" for i in batch.ids)
    assert names != [f"image-{i}" for i in batch.ids]  # sorted order differs from batch order
    answer = {name: {"correct": name[len("image-") :] not in wrong} for name in names}
    assert list(answer) == names

    verdicts = consolidation.verdicts_from_answer(answer, batch.ref)
    assert verdicts == {i: i not in wrong for i in batch.ids}
    assert {i for i, ok in verdicts.items() if not ok} == wrong


def test_verdicts_follow_ids_in_reversed_order_too() -> None:
    batch = make_batch(25)
    wrong = {batch.ids[0], batch.ids[24]}
    answer = {f"image-{i}": {"correct": i not in wrong} for i in reversed(batch.ids)}
    assert consolidation.verdicts_from_answer(answer, batch.ref) == {i: i not in wrong for i in batch.ids}


# --- the GT filters ------------------------------------------------------------------------------


def _env() -> liquid.Environment:
    return liquid_gt.make_environment(fake_presign)


def test_environment_autoescapes_and_is_strict() -> None:
    env = _env()
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x="<b>&") == "&lt;b&gt;&amp;"
    with pytest.raises(liquid.exceptions.UndefinedError):
        env.from_string("{{ task.input.nope }}").render(task={"input": {}})
    assert env.from_string("{{ nope | default: 'd' }}").render() == "d"


def test_grant_read_access_presigns_s3_uris_only() -> None:
    env = _env()
    out = env.from_string("{{ u | grant_read_access }}").render(u="s3://bkt/images/a b.jpg")
    assert out == fake_presign("s3://bkt/images/a b.jpg").replace("&", "&amp;")
    for bad in ("https://example.com/x.jpg", "s3://bucket-only", "", 42):
        with pytest.raises(liquid.exceptions.FilterValueError):
            env.from_string("{{ u | grant_read_access }}").render(u=bad)


def test_grant_read_access_rejects_a_presign_that_is_not_a_url() -> None:
    env = liquid_gt.make_environment(lambda uri: "javascript:alert(1)")
    with pytest.raises(liquid.exceptions.FilterValueError):
        env.from_string("{{ u | grant_read_access }}").render(u="s3://bkt/k.jpg")


def test_to_json_escape_escape_once_skip_autoescape() -> None:
    env = _env()
    data = {"label": '<"Sea Turtle">', "n": [1, 2.5, True, None]}
    # to_json output is autoescaped, and `| escape` after it does not escape twice (the GT idiom).
    assert env.from_string("{{ d | to_json }}").render(d=data) == (
        "{&#34;label&#34;: &#34;&lt;\\&#34;Sea Turtle\\&#34;&gt;&#34;, &#34;n&#34;: [1, 2.5, true, null]}"
    )
    assert env.from_string("{{ d | to_json | escape }}").render(d=data) == env.from_string("{{ d | to_json }}").render(
        d=data
    )
    assert env.from_string("{{ s | to_json }}").render(s="ü🐢") == "&#34;ü🐢&#34;"
    assert env.from_string("{{ s | escape }}").render(s="<a href='x'>&</a>") == (
        "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
    )
    assert env.from_string("{{ s | escape_once }}").render(s="&amp; &lt; < &") == "&amp; &lt; &lt; &amp;"
    assert env.from_string("{{ s | skip_autoescape }}").render(s="<b>raw</b>") == "<b>raw</b>"


# --- assembly: the shared grid inlined ------------------------------------------------------------


def test_the_raw_file_holds_each_marker_once_and_the_uploaded_page_none() -> None:
    raw = raw_file("worker_task.liquid.html")
    page = template_source()
    for name in worker_page.INLINED:
        marker = worker_page.MARKER.format(name=name)
        assert raw.count(marker) == 1
        assert marker not in page
        assert raw_file(name).strip("\n") in page  # inlined verbatim
    assert page.rstrip().endswith('window.bqGrid.mount(document.getElementById("bq"));\n</script>')
    dom = parse(render(make_batch(2)))
    assert len(dom.find_all("style")) == 1
    assert len(dom.find_all("script")) == 2  # AWS's, then grid.js with the mount call


@pytest.mark.parametrize("name", worker_page.INLINED)
def test_grid_files_are_liquid_safe_and_never_use_markup_sinks(name: str) -> None:
    text = raw_file(name)
    for token in ("{{", "{%", "{#", "</style", "</script"):
        assert token not in text
    if name.endswith(".js"):
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # the header comment names what is banned
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
            assert sink not in code, sink


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("grid.css", ".a { color: red }\n.b {{ }}", "'{{'"),
        ("grid.js", "var a = '{% raw %}';", "'{%'"),
        ("grid.js", "var a = '</script>';", "'</script'"),
    ],
)
def test_an_unsafe_grid_file_is_refused(monkeypatch: pytest.MonkeyPatch, name: str, text: str, complaint: str) -> None:
    real = worker_page._read
    monkeypatch.setattr(worker_page, "_read", lambda n: text if n == name else real(n))
    with pytest.raises(worker_page.TemplateAssemblyError, match=re.escape(complaint)):
        worker_page.worker_template()


def test_a_missing_marker_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = worker_page._read
    monkeypatch.setattr(
        worker_page,
        "_read",
        lambda n: real(n).replace("/* @bulkqa-inline grid.js */", "") if n.endswith(".html") else real(n),
    )
    with pytest.raises(worker_page.TemplateAssemblyError, match=r"grid\.js"):
        worker_page.worker_template()


def test_start_labeling_job_uploads_the_assembled_page() -> None:
    from bulkqa import steps

    assert steps.worker_template() == worker_page.worker_template()
