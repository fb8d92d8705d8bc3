"""Monthly tallies: confirmed calls and recorded events, through the reward-and-penalty policy,
become each agent's performance score, money, warnings, rank and awards."""
