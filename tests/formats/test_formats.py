"""SARIF (validated against the official SARIF 2.1.0 schema), GitHub annotations, JUnit XML,
GitLab Code Quality, reviewdog's rdjson and JSON Lines, all rendered at once from one real audit
run, as CI would run it (the seed's own stage-2 config: tests/formats/test_review_formats.py)."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from detaudit.faces.cli import main
from detaudit.report.result import AuditResult
from detaudit.findings import Finding, Location
from detaudit.formats import github, render
from detaudit.report.report import Report

from integ_helpers import ROOT, make_project, write

SARIF_SCHEMA = Path(__file__).parents[1] / "fixtures" / "data" / "sarif-schema-2.1.0.json"
REPORT_SCHEMA = ROOT / "detaudit" / "schema" / "report.schema.json"


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory):
    """A repository (``.git``) with a broken stage-2 config, a config whose base lives outside the
    repository (as mmdet's own bases do), and a config that does not parse; audited once with
    ``--format sarif:… --format github --format junit:… --format json:…``."""
    import contextlib
    import io
    import os

    tmp = tmp_path_factory.mktemp("ci")
    repo = make_project(tmp / "repo")
    (repo / ".git").mkdir()
    outside = write(tmp / "venv" / "lib" / "site-packages" / "fakepkg" / "base_outside.py",
                    "# a base installed with a package\nload_from = 'nowhere/epoch_1.pth'\n")
    write(repo / "configs" / "uses_installed_base.py", f"_base_ = [{str(outside)!r}]\n")
    # a virtualenv inside the checkout is installed code too, not the project's
    in_venv = write(repo / ".venv" / "lib" / "site-packages" / "inpkg" / "base_in_venv.py", "load_from = 'x.pth'\n")
    write(repo / "configs" / "uses_venv_base.py", f"# the venv's base\n_base_ = [{str(in_venv)!r}]\n")
    write(repo / "configs" / "broken_syntax.py", "model = dict(\n    type='FasterRCNN',\n    oops=\n)\n")
    old = os.getcwd()
    os.chdir(repo)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["configs/stage2_broken.py", "configs/uses_installed_base.py", "configs/uses_venv_base.py",
                         "configs/broken_syntax.py",
                         "--input-size", "64x96", "--expect-frozen", "neck",
                         "--format", "sarif:reports/detaudit.sarif", "--format", "github",
                         "--format", "junit:reports/junit.xml", "--format", "json:reports/report.json",
                         "--format", "gitlab:reports/gl-code-quality.json", "--format", "rdjson:reports/rd.json",
                         "--format", "json-lines:reports/findings.jsonl"])
    finally:
        os.chdir(old)
    return {"repo": repo, "code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
            "sarif": json.loads((repo / "reports" / "detaudit.sarif").read_text()),
            "report": json.loads((repo / "reports" / "report.json").read_text()),
            "junit": ET.parse(repo / "reports" / "junit.xml").getroot(),
            "gitlab": (repo / "reports" / "gl-code-quality.json").read_bytes(),
            "rdjson": json.loads((repo / "reports" / "rd.json").read_text()),
            "jsonl": (repo / "reports" / "findings.jsonl").read_bytes()}


def test_several_formats_at_once(ci_run):
    assert ci_run["code"] == 1, ci_run["stderr"]
    jsonschema.validate(ci_run["report"], json.loads(REPORT_SCHEMA.read_text()))
    findings = [f for a in ci_run["report"]["audits"] for f in a["findings"]]
    assert len(ci_run["sarif"]["runs"][0]["results"]) == len(findings)
    assert ci_run["stdout"].count("::") // 2 == len(findings)
    assert {"DA001", "DA101", "DA102", "DA201"} <= {f["code"] for f in findings}


def test_sarif_validates_against_the_official_schema(ci_run):
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(ci_run["sarif"]), key=str)
    assert not errors, "\n".join(e.message for e in errors[:5])
    # and the schema does bite: a result without a message is rejected
    broken = json.loads(json.dumps(ci_run["sarif"]))
    del broken["runs"][0]["results"][0]["message"]
    assert not jsonschema.Draft4Validator(schema).is_valid(broken)


def test_sarif_meets_github_code_scanning_rules(ci_run):
    from detaudit import __version__
    from detaudit.registry import all_rules

    sarif = ci_run["sarif"]
    assert sarif["$schema"].endswith("sarif-schema-2.1.0.json") and sarif["version"] == "2.1.0"
    driver = sarif["runs"][0]["tool"]["driver"]
    assert driver["name"] == "detaudit" and driver["semanticVersion"] == __version__
    assert [r["id"] for r in driver["rules"]][:len(all_rules())] == list(all_rules())
    for r in driver["rules"]:
        for text in (r["id"], r["name"], r["shortDescription"]["text"], r["fullDescription"]["text"],
                     r["help"]["text"]):
            assert isinstance(text, str) and text.strip()
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    fingerprints = set()
    for res in sarif["runs"][0]["results"]:
        assert res["ruleId"] and res["message"]["text"].strip()
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        (loc,) = res["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:")) and ".." not in uri and "\\" not in uri
        assert loc["physicalLocation"]["region"]["startLine"] >= 1
        fp = res["partialFingerprints"]["detauditFingerprint/v1"]
        assert fp not in fingerprints
        fingerprints.add(fp)


def _line(repo: Path, res) -> str:
    loc = res["locations"][0]["physicalLocation"]
    lines = (repo / loc["artifactLocation"]["uri"]).read_text().splitlines()
    n = loc["region"]["startLine"]
    assert n <= len(lines), f"{loc} points past the end of the file"
    return lines[n - 1]


def test_each_sarif_result_points_at_the_real_line(ci_run):
    repo = ci_run["repo"]
    seen = set()
    for res in ci_run["sarif"]["runs"][0]["results"]:
        line = _line(repo, res)
        key = res["properties"].get("keyPath")
        uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        seen.add((res["ruleId"], uri))
        if "located in" in res["message"]["text"]:
            # a base outside the repository: moved to the line that pulls the base in
            # named relative to its site-packages folder: no absolute path of this machine in the note
            assert line.startswith("_base_")
            assert re.search(r"\(located in (fakepkg/base_outside\.py:2|inpkg/base_in_venv\.py:1)\)",
                             res["message"]["text"])
        elif res["ruleId"] == "DA001":
            # where Python reports the syntax error: the ")" after "oops="
            assert uri == "configs/broken_syntax.py" and line == ")"
        elif "has no `model`" in res["message"]["text"] or key == "train_dataloader":
            # a key set nowhere: the file's first line (the run tier, the default, finds that these
            # model-only configs have no train_dataloader for their train_cfg: DA700, DA716)
            assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
        elif key:
            leaf = [p for p in key.split(".") if not p.isdigit()][-1]
            assert leaf in line, (key, line)
        else:  # no key path (--expect-frozen neck): the line where model.neck is set
            assert res["properties"]["modulePath"] == "neck" and "neck" in line
    assert ("DA201", "configs/uses_installed_base.py") in seen and ("DA201", "configs/uses_venv_base.py") in seen
    assert ("DA102", "configs/_base_/tiny_frcnn.py") in seen


def test_github_annotations(ci_run):
    lines = [ln for ln in ci_run["stdout"].splitlines() if ln.startswith("::")]
    kinds = [ln.split(" ", 1)[0] for ln in lines]
    assert kinds == sorted(kinds, key=["::error", "::warning", "::notice"].index), "errors first"
    for ln in lines:
        props, message = ln.split("::", 2)[1:]
        assert props.split(" ", 1)[1].startswith("file=configs/")
        assert ",line=" in props and ",title=DA" in props and message
        assert "\n" not in message
    fix = next(ln for ln in lines if "title=DA201" in ln)
    assert "%0AFix: " in fix


def test_github_escaping():
    f = Finding("DA201", "load-from-missing", "warning", "100% gone:\r\nsee, here", config="a,b:c.py",
                location=Location("a,b:c.py", 3, 2))
    report = Report(audits=[AuditResult(config="a,b:c.py", findings=[f])])
    (line,) = github.lines(report, cwd=Path("."), root=Path("."))
    assert line == "::warning file=a%2Cb%3Ac.py,line=3,col=2,title=DA201 load-from-missing::100%25 gone:%0D%0Asee, here"
    err = Finding("DA102", "x", "error", "m", location=Location("a.py", 1))
    info = Finding("DA204", "y", "info", "m", location=Location("a.py", 1))
    report = Report(audits=[AuditResult(config="a.py", findings=[info, f, err])])
    assert [ln.split(" ")[0] for ln in github.lines(report, cwd=Path("."), root=Path("."))] == [
        "::error", "::warning", "::notice"]


def test_junit(ci_run):
    root = ci_run["junit"]
    suites = root.findall("testsuite")
    audits = ci_run["report"]["audits"]
    assert [s.get("name") for s in suites] == [a["config"] for a in audits]
    total_failures = 0
    for suite, audit in zip(suites, audits):
        cases = suite.findall("testcase")
        names = [c.get("name").split()[0] for c in cases]
        ran_or_found = {f["code"] for f in audit["findings"]}
        skipped = {s["code"] for s in audit["skipped_rules"]}
        assert set(names) >= ran_or_found | skipped and len(names) == len(set(names))
        for case in cases:
            code = case.get("name").split()[0]
            failures = case.findall("failure")
            assert len(failures) == sum(1 for f in audit["findings"] if f["code"] == code)
            assert bool(case.findall("skipped")) == (code in skipped)
            total_failures += len(failures)
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("skipped")) == len([c for c in cases if c.find("skipped") is not None])
    assert total_failures == sum(len(a["findings"]) for a in audits)
    broken = suites[[a["config"] for a in audits].index("configs/broken_syntax.py")]
    props = {p.get("name"): p.get("value") for p in broken.iter("property")}
    assert props["status"] == "failed" and props["tier.static"] == "failed"


def test_sarif_for_an_empty_report_and_a_finding_without_location():
    from detaudit.formats.sarif import to_sarif

    schema = json.loads(SARIF_SCHEMA.read_text())
    empty = to_sarif(Report(), cwd=Path("."), root=Path("."))
    assert empty["runs"][0]["results"] == [] and jsonschema.Draft4Validator(schema).is_valid(empty)
    f = Finding("DA102", "expected-frozen-but-trainable", "error", "", location=Location("<model>"))
    doc = to_sarif(Report(audits=[AuditResult(config="<config>", findings=[f])]), cwd=Path("."), root=Path("."))
    res = doc["runs"][0]["results"][0]
    assert res["message"]["text"] and res["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert jsonschema.Draft4Validator(schema).is_valid(doc)


def test_render_names():
    text = render("junit", Report())
    assert text.startswith("<?xml") and ET.fromstring(text.split("\n", 1)[1]).tag == "testsuites"
    assert render("github", Report()) == ""


# ---------------------------------------------------------------- gitlab, rdjson, json-lines
GITLAB_SCHEMA = Path(__file__).parents[1] / "fixtures" / "data" / "gitlab-codequality.schema.json"
RDJSON_SCHEMA = Path(__file__).parents[1] / "fixtures" / "data" / "reviewdog-DiagnosticResult.json"
JSONL_SCHEMA = ROOT / "detaudit" / "schema" / "json-lines.schema.json"


def _sarif_by_fingerprint(ci_run) -> dict[str, dict]:
    return {r["partialFingerprints"]["detauditFingerprint/v1"]: r for r in ci_run["sarif"]["runs"][0]["results"]}


def _sarif_place(res) -> tuple[str, int]:
    loc = res["locations"][0]["physicalLocation"]
    return loc["artifactLocation"]["uri"], loc["region"]["startLine"]


def test_gitlab_code_quality_validates_and_matches_sarif(ci_run):
    raw = ci_run["gitlab"]
    assert not raw.startswith(b"\xef\xbb\xbf"), "GitLab refuses a byte order mark"
    issues = json.loads(raw.decode("utf-8"))
    schema = json.loads(GITLAB_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(issues)
    assert not jsonschema.Draft202012Validator(schema).is_valid([dict(issues[0], severity="error")])  # it bites
    sarif = _sarif_by_fingerprint(ci_run)
    assert len(issues) == len(sarif) and len({i["fingerprint"] for i in issues}) == len(issues)
    for issue in issues:
        res = sarif[issue["fingerprint"]]   # the same fingerprint names the same finding
        assert issue["check_name"] == res["ruleId"] and issue["description"].startswith(res["ruleId"] + " ")
        assert (issue["location"]["path"], issue["location"]["lines"]["begin"]) == _sarif_place(res)
        assert issue["severity"] == {"error": "major", "warning": "minor", "note": "info"}[res["level"]]


def test_rdjson_validates_and_follows_the_format(ci_run):
    doc = ci_run["rdjson"]
    schema = json.loads(RDJSON_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(doc)
    assert not jsonschema.Draft4Validator(schema).is_valid({"diagnostics": [{"severity": "FATAL"}]})  # it bites
    sarif = _sarif_by_fingerprint(ci_run)
    assert len(doc["diagnostics"]) == len(sarif)
    repo = ci_run["repo"]
    for d in doc["diagnostics"]:
        res = sarif[d["fingerprint"]]
        start = d["location"]["range"]["start"]
        assert (d["location"]["path"], start["line"]) == _sarif_place(res)
        assert d["severity"] == {"error": "ERROR", "warning": "WARNING", "note": "INFO"}[res["level"]]
        assert d["code"]["value"] == res["ruleId"] and d["code"]["url"].endswith(res["ruleId"])
        assert d["source"]["name"] == "detaudit" and d["message"].strip()
        if "column" in start:  # 1-based, counted in UTF-8 bytes: the key's text starts there
            line = (repo / d["location"]["path"]).read_bytes().splitlines()[start["line"] - 1]
            key = res["properties"].get("keyPath")
            if key:
                leaf = [p for p in key.split(".") if not p.isdigit()][-1].encode()
                assert leaf in line[start["column"] - 1:], (key, line, start)


def test_json_lines_follow_the_spec_and_the_shipped_schema(ci_run):
    raw = ci_run["jsonl"]
    text = raw.decode("utf-8")   # UTF-8, as JSON Lines requires
    assert text.endswith("\n") and "\r" not in text
    lines = text[:-1].split("\n")
    schema = json.loads(JSONL_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    sarif = _sarif_by_fingerprint(ci_run)
    assert len(lines) == len(sarif)
    report_findings = {(a["config"], f["code"], f["key_path"], f["module_path"]) for a in ci_run["report"]["audits"]
                       for f in a["findings"]}
    for line in lines:
        record = json.loads(line)   # each line one JSON value on its own
        jsonschema.Draft202012Validator(schema).validate(record)
        res = sarif[record["fingerprint"]]
        assert (record["path"], record["line"]) == _sarif_place(res) and record["code"] == res["ruleId"]
        assert record["config"].startswith("configs/")
        assert (record["config"], record["code"], record["key_path"], record["module_path"]) in report_findings
    moved = [json.loads(x) for x in lines if json.loads(x)["moved_from"]]
    assert moved and all(m["moved_from"].startswith("located in ") for m in moved)


def test_ci_formats_of_an_empty_report():
    assert render("json-lines", Report()) == ""
    assert json.loads(render("gitlab", Report())) == []
    assert json.loads(render("rdjson", Report()))["diagnostics"] == []


def test_fingerprints_agree_with_the_baseline(ci_run, tmp_path):
    """A baseline entry and the CI formats name a finding with the same fingerprint when the
    baseline lies at the repository root."""
    from detaudit.report import baseline
    from detaudit.report.report import Report as R
    from detaudit.report.result import AuditResult as A

    audits = [A(config=a["config"], findings=[Finding(code=f["code"], name=f["name"], severity=f["severity"],
                                                       message=f["message"], key_path=f["key_path"],
                                                       module_path=f["module_path"], config=a["config"])
                                               for f in a["findings"]]) for a in ci_run["report"]["audits"]]
    repo = ci_run["repo"]
    entries = baseline.entries_for(R(audits=audits), repo / "detaudit-baseline.json", cwd=repo)
    plain = {fp.split(":")[0] for fp in _sarif_by_fingerprint(ci_run)}
    assert {e["fingerprint"] for e in entries} == plain
