"""Anonymous reports: the reporter's side, the handler's case steps, rewards and their claims."""
