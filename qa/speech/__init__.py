"""The speech stages: decode, recognise, who spoke when, which speaker is the agent, words to turns."""
