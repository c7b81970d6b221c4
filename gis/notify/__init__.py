"""Notifications (issue 14): an outbox in PostgreSQL written in the same transaction as the event that causes
it, delivered by a procrastinate job to SMS, group robots (WeCom, DingTalk, Feishu), e-mail, webhooks and the
in-app inbox, with every attempt and the channel's answer recorded. See docs/notifications.md."""
