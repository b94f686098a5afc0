from pathlib import Path

from pipeline_recorder import LivePipelineRecorder, new_run_id


def test_saving_an_input_writes_the_numbered_file_and_lists_it(tmp_path: Path) -> None:
    rec = LivePipelineRecorder(new_run_id(), "stillepost", "eco", "kids", base_path=tmp_path)
    assert rec.save_entity("input", "Hallo") == "01_input.txt"
    assert (rec.run_folder / "01_input.txt").read_text(encoding="utf-8") == "Hallo"
    assert [e["filename"] for e in rec.get_status()["entities"]] == ["01_input.txt"]
