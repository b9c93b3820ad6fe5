"""The web app's workspace in process: one segmenter serves segmentation and the planner's entity sets."""

from agent.backends import BackendConfig
from agent.serving.limits import ServeLimits
from agent.serving.models import AskRequest, SceneFolder
from agent.serving.workspace import Workspace
from tests.fixtures.web_serve import scene_queries, write_scene_folders


def test_chat_answers_segment_with_the_servers_own_segmenter(tmp_path):
    scenes = write_scene_folders(tmp_path / "root")
    ws = Workspace(BackendConfig(), ServeLimits.create([tmp_path / "root"], tmp_path / "out"))
    sid = ws.load(SceneFolder(path=str(scenes["lonlat"]))).scene_id
    seg = ws.backends.segmenter
    before = seg.encode_count
    answer = ws.ask(AskRequest(scene_id=sid, question=scene_queries()["lonlat"], mode="ask"))
    assert answer.mode == "ask" and answer.features["features"]
    assert seg.encode_count == before + 1  # the planner's entity set was segmented by the server's segmenter
    again = ws.ask(AskRequest(scene_id=sid, question=scene_queries()["lonlat"], mode="ask"))
    assert again.features == answer.features and seg.encode_count == before + 1  # kept, not segmented again
