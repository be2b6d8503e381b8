"""The Official Account bot: a conversation engine over WeChat messages."""
