"""`agrifactory where`: the products a run left, one aligned line each."""

from agrifactory.cli import main


def test_lists_what_exists_and_only_that(tmp_path, capsys):
    results = tmp_path / "results"
    (results / "tiles/h1v1/2021/fusion").mkdir(parents=True)
    (results / "tiles/h1v1/2021/quality").mkdir(parents=True)
    (results / "mosaics").mkdir()
    (results / "report.html").write_text("<html/>")
    (results / "manifest.sha256").write_text("")
    assert main(["where", "--results", str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Products are in {results.resolve()}/:"
    body = {line.split("  ")[1].strip(): line for line in lines[1:]}
    assert set(body) == {
        "report (open in a browser)",
        "per tile and year",
        "VRT mosaics (open in QGIS)",
        "manifest (sha256sum -c)",
    }
    assert "1 tile-years; stages: fusion, quality" in body["per tile and year"]
    starts = {line.index(str(results)) for line in lines[1:]}
    assert len(starts) == 1  # one column


def test_no_results_says_what_to_run(tmp_path, capsys):
    assert main(["where", "--results", str(tmp_path / "none")]) == 1
    assert "make demo" in capsys.readouterr().out
