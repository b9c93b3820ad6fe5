"""SFT warm start and GRPO for the two-stage policy: rewards, advantages, the loss, episodes and settings."""

import socioagent  # noqa: F401  (checks on import that no other package shadows ours)
