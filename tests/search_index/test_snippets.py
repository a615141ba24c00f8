from search_index.analyzer import normalize
from search_index.snippets import WIDTH, highlight, snippet


def make(text: str, *terms: str, body: int = 0) -> str:
    return snippet(text, normalize(text), tuple(normalize(t) for t in terms), body)


def test_matches_are_marked_and_text_escaped():
    html = make("<b>经查</b>，该公司非煤矿山存在隐患 & 未整改", "矿山", "隐患")
    assert html == "&lt;b&gt;经查&lt;/b&gt;，该公司非煤<mark>矿山</mark>存在<mark>隐患</mark> &amp; 未整改"


def test_the_original_characters_are_shown_for_a_normalised_match():
    assert make("代码９１５３ABC", "9153abc") == "代码<mark>９１５３ABC</mark>"


def test_overlapping_matches_are_merged():
    assert make("非煤矿山", "煤矿", "矿山") == "非<mark>煤矿山</mark>"


def test_a_long_text_is_cut_around_the_first_match_after_the_title():
    title = "磨憨镇某公司行政处罚决定"
    text = title + "\n" + "甲" * 200 + "磨憨镇" + "乙" * 200
    html = make(text, "磨憨", body=len(title) + 1)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>磨憨</mark>镇" in html
    assert title not in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) <= WIDTH + 2


def test_line_breaks_become_spaces():
    assert make("景洪市\n勐海县", "勐海") == "景洪市 <mark>勐海</mark>县"


def test_a_match_only_in_the_title_is_shown_there_not_the_start_of_the_body():
    # A power item found by its name: the snippet shows the match, not the item's code.
    assert make("非煤矿山\n正文内容", "矿山", body=5) == "非煤<mark>矿山</mark> 正文内容"
    title = "对生产经营单位未将事故隐患排查治理情况如实记录的行政处罚"
    html = make(title + "\nMH-CF-001 行政处罚 " + "责任" * 100, "隐患", body=len(title) + 1)
    assert "<mark>隐患</mark>" in html and not html.startswith("…")


def test_the_window_is_centred_on_the_first_match():
    text = "甲" * 300 + "磨憨镇" + "乙" * 300
    html = make(text, "磨憨")
    before, after = html.split("<mark>磨憨</mark>")
    assert abs(len(before.strip("…")) - len(after.strip("…"))) <= 4


def test_a_window_does_not_start_inside_a_credit_code():
    # A blacklist entry: the name and code come before the grounds.
    title = "勐海县嘉禾矿业有限公司（91532822MA01LTW5XR）"
    text = (title + "\n勐海县嘉禾矿业有限公司 91532822MA01LTW5XR 瞒报、谎报生产安全事故 "
            + "依据" * 80)
    html = make(text, "瞒报", body=len(title) + 1)
    assert "<mark>瞒报</mark>" in html
    first = html.lstrip("…").split()[0]
    assert first in ("勐海县嘉禾矿业有限公司", "91532822MA01LTW5XR", "<mark>瞒报</mark>、谎报生产安全事故")


def test_titles_are_highlighted_and_escaped():
    title = "<b>磨憨</b>镇某公司"
    assert highlight(title, normalize(title), (normalize("磨憨"),)) == (
        "&lt;b&gt;<mark>磨憨</mark>&lt;/b&gt;镇某公司")


def test_the_window_shows_as_many_terms_as_it_can():
    text = "矿山" + "甲" * 300 + "矿山隐患并存" + "乙" * 300
    html = make(text, "矿山", "隐患")
    assert "<mark>矿山</mark><mark>隐患</mark>" in html or "<mark>矿山隐患</mark>" in html
