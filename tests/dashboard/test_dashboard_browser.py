"""The dashboard as a person uses it, in headless Chromium opened from disk with the network off:
the matrix, a filter, a cell's findings, a config's module bars, the other views, hostile text,
bad input, the single-page report, and the zoo run-tier dashboard's speed and size."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:   # the browser fixture says what is missing (and fails under CI=true)
    expect = None

import dash_reports
from detaudit.faces.cli.dashboard import cmd_dashboard

ROOT = Path(__file__).resolve().parents[2]
N = 40


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    names = dash_reports.config_names(N)
    before = dash_reports.write(tmp / "before.json", names[:N - 4])
    shard1 = dash_reports.write(tmp / "shard1.json", names[:N // 2])
    shard2 = dash_reports.write(tmp / "shard2.json", names[N // 2:])
    assert cmd_dashboard([str(shard1), str(shard2), "--baseline", str(before), "-o", str(tmp / "out")]) == 0
    return tmp / "out"


def _url(folder: Path, view: str = "") -> str:
    return (folder / "index.html").as_uri() + view


def _clean(page, browser):
    assert page.errors == [], page.errors
    assert browser.remote == [], f"requests that left the machine: {browser.remote}"


def test_matrix_rows_filter_and_cell_findings(browser, site, screenshots):
    page = browser.open(_url(site))
    rows = page.locator("#matrix tbody tr.row")
    expect(rows).to_have_count(N)
    assert page.locator("#shown").inner_text() == f"{N} of {N} configs"
    page.screenshot(path=str(screenshots / "matrix.png"))
    page.fill("#f-path", "retinanet")
    expect(rows).to_have_count(N // 4)
    assert all("retinanet" in t for t in rows.locator("td.path").all_inner_texts())
    page.fill("#f-path", "")
    page.select_option("#f-code", "DA101")
    expect(rows).to_have_count(len(range(0, N, 5)))
    page.select_option("#f-code", "")
    page.select_option("#f-base", "_base_/schedules/schedule_1x.py")
    expect(rows).to_have_count(len(range(0, N, 3)))
    page.select_option("#f-base", "")
    page.select_option("#f-sev", "error")
    expect(rows).to_have_count(len(range(0, N, 5)))
    page.select_option("#f-sev", "clean")
    expect(rows).to_have_count(len([i for i in range(N) if i % 3 and i % 5 and i % 7]))
    page.select_option("#f-sev", "")
    # sorting by a group column puts its worst cells first
    page.click("#matrix th[data-sort='freezing']")
    assert "s3" in rows.first.locator("td.cell[data-g='freezing']").get_attribute("class")
    # clicking a cell shows that config's findings of that group
    cell = page.locator("#matrix tbody tr.row td.cell.s3[data-g='freezing']").first
    config = cell.locator("xpath=..").locator("td.path").inner_text()
    cell.click()
    panel = page.locator("#cell-findings")
    assert panel.is_visible()
    expect(panel.locator(".finding")).to_have_count(1)
    assert "lr-mult-zero-freeze" in panel.inner_text() and config in panel.inner_text()
    assert "Fix: use frozen_stages=4" in panel.inner_text()
    page.screenshot(path=str(screenshots / "matrix-cell.png"))
    _clean(page, browser)


def test_config_page_draws_module_bars_timeline_and_run(browser, site, screenshots):
    page = browser.open(_url(site, "#/config/0"))
    assert page.locator("h2.path").inner_text() == dash_reports.config_names(N)[0]
    bars = page.locator("#module-bars g.bar")
    expect(bars).to_have_count(len(dash_reports.MODULES))
    backbone = page.locator("#module-bars g.bar[data-module='backbone'] rect.trainable")
    assert float(backbone.get_attribute("width")) == 0       # frozen: no green
    neck = page.locator("#module-bars g.bar[data-module='neck']")
    assert neck.locator("rect.trainable").get_attribute("width") == neck.locator("rect.frozen").get_attribute("width")
    assert "2 BN train" in page.locator("#module-bars g.bar[data-module='rpn_head']").text_content()
    expect(page.locator("#timeline g.tier")).to_have_count(7)
    expect(page.locator("#run-stages li.stage")).to_have_count(3)
    assert page.locator("#run-stages li.stage.bad b").inner_text() == "test"
    assert "failed: the evaluator needs pycocotools" in page.locator("#run-stages li.stage.bad").inner_text()
    assert "train_cfg.max_epochs" in page.locator("table.changes").inner_text()
    expect(page.locator("tr.finding")).to_have_count(3)     # DA101, DA604, DA205 for config 0
    page.screenshot(path=str(screenshots / "config.png"), full_page=True)
    # a config with a suppression lists it
    page = browser.open(_url(site, "#/config/1"))
    assert "Suppressed here" in page.inner_text("#config")
    _clean(page, browser)


def test_impact_rules_and_diff_views(browser, site, screenshots):
    page = browser.open(_url(site, "#/impact"))
    first = page.locator("#impact tr.spot").first
    text = first.inner_text()
    assert "_base_/schedules/schedule_1x.py:12" in text and f"{len(range(0, N, 3))} configs clear" in text
    first.locator("summary").click()
    expect(first.locator(".list a")).to_have_count(len(range(0, N, 3)))
    page.screenshot(path=str(screenshots / "impact.png"))
    first.locator("a", has_text="in the matrix").click()
    expect(page.locator("#matrix tbody tr.row")).to_have_count(len(range(0, N, 3)))
    assert page.locator("#f-base").input_value() == "_base_/schedules/schedule_1x.py"

    page = browser.open(_url(site, "#/rules"))
    row = page.locator("#rules tr.rule[data-code='DA604']")
    assert row.locator("td.num").all_inner_texts()[:2] == [str(len(range(0, N, 3)))] * 2
    assert page.locator("#rules tr.rule[data-code='DA603'] td.num").all_inner_texts()[2] == "1"  # suppressed
    assert "today" in page.locator("#rules tr.rule[data-code='DA603']").inner_text()
    page.screenshot(path=str(screenshots / "rules.png"))
    # a rule's config count opens the matrix filtered by that code, and the link can be shared
    row.locator("td.num a").click()
    expect(page.locator("#matrix tbody tr.row")).to_have_count(len(range(0, N, 3)))
    assert page.locator("#f-code").input_value() == "DA604" and page.url.endswith("#/matrix?code=DA604")
    page.select_option("#f-sev", "error")
    assert page.url.endswith("#/matrix?code=DA604&sev=error")
    linked = browser.open(page.url)
    expect(linked.locator("#matrix tbody tr.row")).to_have_count(len(range(0, N, 15)))
    page.goto(_url(site, "#/rules"))
    row = page.locator("#rules tr.rule[data-code='DA604']")
    row.locator("a.code").click()
    page.wait_for_selector("#rule-doc")
    assert "What it does" in page.inner_text("#rule-doc") and "schedule-mismatch" in page.inner_text("#rule-doc")
    page.screenshot(path=str(screenshots / "rule-doc.png"))

    page = browser.open(_url(site, "#/diff"))
    new = sum(len(dash_reports.audit(c, i).findings) for i, c in enumerate(dash_reports.config_names(N)) if i >= N - 4)
    assert new > 0 and page.inner_text("#n-new") == f"{new} new"   # the 4 configs the earlier report lacks
    expect(page.locator("#diff-new tbody tr")).to_have_count(new)
    assert page.inner_text("#n-fixed") == "0 fixed"
    page.screenshot(path=str(screenshots / "diff.png"))
    _clean(page, browser)


HOSTILE_PATH = 'configs/<img src=x onerror="window.PWNED=1">/"><svg onload=window.PWNED=2>.py'
HOSTILE_MSG = "<script>window.PWNED=3</script> & <b>bold</b>"


def test_html_in_paths_and_messages_renders_as_text(browser, tmp_path, screenshots):
    names = ["configs/a.py", "configs/b.py", "configs/c.py"]
    doc = json.loads(dash_reports.write(tmp_path / "r.json", names).read_text())
    doc["audits"][0]["config"] = HOSTILE_PATH
    for f in doc["audits"][0]["findings"]:
        f["message"] = HOSTILE_MSG
        f["key_path"] = "<i>key</i>"
        f["fix"] = "<a href=javascript:alert(1)>fix</a>"
        f["location"]["file"] = "_base_/<u>x</u>.py"
    doc["audits"][0]["model"]["modules"][0]["path"] = "<tspan onclick=alert(1)>bb</tspan>"
    (tmp_path / "r.json").write_text(json.dumps(doc))
    assert cmd_dashboard([str(tmp_path / "r.json"), "-o", str(tmp_path / "site")]) == 0
    for view in ("", "#/impact", "#/config/0", "#/rules"):
        page = browser.open(_url(tmp_path / "site", view))
        if not view:
            page.fill("#f-path", "img")
            expect(page.locator("#matrix tbody tr.row")).to_have_count(1)
            assert page.locator("#matrix td.path").inner_text() == HOSTILE_PATH
            page.locator("#matrix td.cell.s3").first.click()
            assert HOSTILE_MSG in page.inner_text("#cell-findings")
        if view == "#/config/0":
            assert HOSTILE_MSG in page.inner_text("#config") and "<i>key</i>" in page.inner_text("#config")
            assert "<tspan onclick=alert(1)>bb</tspan>" in page.locator("#module-bars").text_content()
            page.screenshot(path=str(screenshots / "hostile.png"))
        if view == "#/impact":
            assert "_base_/<u>x</u>.py" in page.inner_text("#impact")
        assert page.evaluate("window.PWNED") is None
        expect(page.locator("#app img, #app script, #app b:text('bold'), #app u, #app i:text('key')")).to_have_count(0)
        _clean(page, browser)


def test_bad_files_are_named_on_the_page_and_the_rest_renders(browser, tmp_path, screenshots):
    good = dash_reports.write(tmp_path / "good.json", dash_reports.config_names(5))
    older = dash_reports.edit(dash_reports.write(tmp_path / "older.json", ["old/x.py"]),
                              tool={"name": "detaudit", "version": "0.0.9", "rule_packs": []})
    (tmp_path / "cut.json").write_text(good.read_text()[:300])
    dash_reports.edit(dash_reports.write(tmp_path / "v2.json", ["z.py"]), schema_version="2.0")
    code = cmd_dashboard([str(good), str(tmp_path / "cut.json"), str(older), str(tmp_path / "v2.json"),
                          "-o", str(tmp_path / "site")])
    assert code == 1
    page = browser.open(_url(tmp_path / "site"))
    expect(page.locator("#matrix tbody tr.row")).to_have_count(6)
    errors = page.locator("#load-errors li").all_inner_texts()
    assert len(errors) == 2
    assert any("cut.json: not valid JSON" in e for e in errors)
    assert any("v2.json: report schema 2.0" in e for e in errors)
    assert "0.0.9, 0.1.0" in page.inner_text("#versions")
    page.screenshot(path=str(screenshots / "bad-input.png"))
    _clean(page, browser)


def test_format_html_is_one_page_that_works_offline(browser, tmp_path):
    from detaudit.formats import render

    text = render("html", dash_reports.report(dash_reports.config_names(12)))
    assert "<script src=" not in text and "<link" not in text
    (tmp_path / "report.html").write_text(text)
    page = browser.open((tmp_path / "report.html").as_uri())
    expect(page.locator("#matrix tbody tr.row")).to_have_count(12)
    page.goto((tmp_path / "report.html").as_uri() + "#/config/3")
    page.wait_for_selector("#module-bars")
    expect(page.locator("#module-bars g.bar")).to_have_count(len(dash_reports.MODULES))
    _clean(page, browser)


def test_zoo_run_report_dashboard_is_fast_and_small(browser, tmp_path, screenshots):
    """The full zoo run-tier report (823 configs): interactive in under 2 s, files under 5 MB."""
    assert cmd_dashboard([str(ROOT / "docs" / "zoo-report-run.json"), "-o", str(tmp_path / "zoo")]) == 0
    size = sum(p.stat().st_size for p in (tmp_path / "zoo").rglob("*") if p.is_file())
    # best of three loads: the machine is shared, and the figure is the page's, not the neighbours'
    loads = []
    for i in range(3):
        page = browser.new_page()
        start = time.perf_counter()
        browser.load(page, _url(tmp_path / "zoo"))
        loads.append((time.perf_counter() - start, page.evaluate("window.DETAUDIT_READY_MS") / 1000))
        if i < 2:
            assert page.errors == [], page.errors
            page.close()
    seconds, drawn = min(loads)
    print(f"\nzoo run-tier dashboard: {size / 1e6:.2f} MB in {len(list((tmp_path / 'zoo').rglob('*.*')))} files; "
          f"navigation to interactive {', '.join(f'{w:.2f} s' for w, _ in loads)} (drawn at "
          f"{', '.join(f'{d:.2f} s' for _, d in loads)} by the page's clock); load average {os.getloadavg()[0]:.1f}")
    assert seconds < 2.0 and drawn < 2.0 and size < 5e6
    expect(page.locator("#matrix tbody tr.row")).to_have_count(823)
    start = time.perf_counter()
    page.fill("#f-path", "faster_rcnn")
    filtered = page.locator("#matrix tbody tr.row").count()
    assert 0 < filtered < 823 and time.perf_counter() - start < 1.0
    page.screenshot(path=str(screenshots / "zoo-run.png"))
    _clean(page, browser)


def test_cli_format_html_next_to_json(browser, cli, tmp_path):
    """`detaudit --format html:PATH` on a real config: the page shows what the JSON report holds."""
    config = ROOT / "examples" / "configs" / "stage2_kaist_domain_ft.py"
    r = cli("--tier", "static", "--format", f"html:{tmp_path / 'r.html'}", "--format", f"json:{tmp_path / 'r.json'}",
            config)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    findings = report["audits"][0]["findings"]
    assert findings
    page = browser.open((tmp_path / "r.html").as_uri())
    expect(page.locator("#matrix tbody tr.row")).to_have_count(1)
    assert page.locator("#matrix tbody td.num").inner_text() == str(len(findings))
    page.click("#matrix td.path a")
    page.wait_for_selector("#config")
    expect(page.locator("tr.finding")).to_have_count(len(findings))
    shown = page.locator("tr.finding a.code, tr.finding span.code").all_inner_texts()
    assert {f["code"] for f in findings} <= set(shown)
    _clean(page, browser)


def test_contact_sheets_show_on_their_config_page(browser, tmp_path, screenshots):
    """`detaudit data --out DIR` draws <config>_<split>.png; `dashboard --sheets DIR` shows each on its
    config's page, loaded from the site's own folder (the page allows no other source)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = dash_reports.config_names(3)
    report = dash_reports.write(tmp_path / "r.json", names)
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    fig = plt.figure(figsize=(3.2, 2.4), dpi=100)
    fig.patch.set_facecolor("red")
    fig.savefig(sheets / f"{Path(names[0]).stem}_train.png", facecolor="red")
    plt.close(fig)
    assert cmd_dashboard([str(report), "--sheets", str(sheets), "-o", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "sheets" / "0_train.png").is_file()
    assert str(sheets) not in (tmp_path / "site" / "data.js").read_text()   # no local path in the site's data
    page = browser.open(_url(tmp_path / "site", "#/config/0"))
    img = page.locator("figure.sheet img")
    expect(img).to_have_count(1)
    page.wait_for_function("document.querySelector('figure.sheet img').complete")
    assert page.evaluate("document.querySelector('figure.sheet img').naturalWidth") == 320
    assert page.locator("figure.sheet figcaption").inner_text() == "train"
    page.screenshot(path=str(screenshots / "config-sheet.png"), full_page=True)
    _clean(page, browser)
    page = browser.open(_url(tmp_path / "site", "#/config/1"))
    assert "What the model sees" not in page.inner_text("#config")
    _clean(page, browser)
