"""The WeChat official account: its API client, the webhook, the inbound and outbound message
workers, the message types the bot speaks in, and the notifier that sends objection events."""
