"""socioagent's evaluations: datasets (SocioSeg, SynthCity), metrics, the resumable runner, reports."""

import socioagent  # noqa: F401  (checks on import that no other package shadows ours)
