"""track2vec.digest: what counts when two results folders are compared."""

import pytest

from track2vec.digest import compare_folders, digest_folder, main


def _folder(root, grid_seconds="1.5", loss="0.7"):
    (root / "metrics").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "report").mkdir()
    (root / "metrics" / "a.json").write_text('{"hr_at_k": 0.5}\n')
    (root / "grid.tsv").write_text(f"entry\thr_at_k\ttrain_seconds\na\t0.5\t{grid_seconds}\n")
    (root / "train_log").mkdir()
    (root / "train_log" / "a.tsv").write_text(f"epoch\tloss\tseconds\tpairs_per_second\n1\t{loss}\t2.0\t100.0\n")
    (root / "logs" / "a.log").write_text("12:00:01 started\n")
    (root / "report" / "loss.png").write_bytes(b"png")
    return root


def test_times_logs_and_report_do_not_count(tmp_path):
    a = _folder(tmp_path / "a")
    b = _folder(tmp_path / "b", grid_seconds="9.9")
    (b / "logs" / "a.log").write_text("13:00:00 started\n")
    (b / "report" / "loss.png").write_bytes(b"other png")
    (b / "train_log" / "a.tsv").write_text("epoch\tloss\tseconds\tpairs_per_second\n1\t0.7\t5.0\t40.0\n")
    assert compare_folders(a, b) == {"changed": [], "only_a": [], "only_b": []}
    assert sorted(digest_folder(a)) == ["grid.tsv", "metrics/a.json", "train_log/a.tsv"]
    assert main([str(a), str(b)]) == 0


def test_a_changed_result_or_a_missing_file_is_reported(tmp_path, capsys):
    a = _folder(tmp_path / "a")
    b = _folder(tmp_path / "b", loss="0.8")
    (b / "metrics" / "a.json").write_text('{"hr_at_k": 0.51}\n')
    (a / "best.json").write_text("{}\n")
    assert compare_folders(a, b) == {
        "changed": ["metrics/a.json", "train_log/a.tsv"],
        "only_a": ["best.json"],
        "only_b": [],
    }
    assert main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "differs: metrics/a.json" in out and "only in" in out and "best.json" in out


def test_one_folder_lists_digests_and_a_missing_folder_is_an_error(tmp_path, capsys):
    a = _folder(tmp_path / "a")
    assert main([str(a)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(len(line.split()[0]) == 64 for line in lines)
    assert main([str(tmp_path / "nope"), str(a)]) == 2
    with pytest.raises(FileNotFoundError, match="not a folder"):
        digest_folder(tmp_path / "nope")
