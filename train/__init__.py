"""SFT warm start and GRPO for the two-stage policy: rewards, advantages, the loss, episodes and settings."""
