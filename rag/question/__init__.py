"""Reading a question once: what it asks about and whom, and what the index can say of it."""
