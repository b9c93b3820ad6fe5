"""Chat questions with spatial relations: ``ask("parks within 1 km of hospitals", data=...) -> Answer``.

- `agent.chat.data`: `load_data` / `ChatData` (OSM, GeoJSON, GeoPackage; scene folders and rasters, whose
  entity sets come from segmentation);
- `agent.chat.executor`: `execute(plan, data)`, the plan's sets and relations in a local metric CRS;
- `agent.chat.answer`: `Answer` and its sentence (numbers from the executor only);
- `agent.chat.ask`: `ask`, and the answer files (``answer.json``, ``answer.geojson``, ``answer.png``).

The planners are in `agent.planner`.
"""

from agent.chat.answer import Answer
from agent.chat.ask import ask, write_answer
from agent.chat.data import ChatData, load_data, load_raster, load_scene_folder, load_vectors

__all__ = ["Answer", "ChatData", "ask", "load_data", "load_raster", "load_scene_folder", "load_vectors",
           "write_answer"]  # fmt: skip
